#include "app/app.hpp"
#include "tools/registry.hpp"

namespace mk {

void register_all_tools(mcp::Server& server, App& app) {
  pipeline::Registrar reg(server, app.env());
  tools::register_resource_tools(reg);
  tools::register_context_tools(reg);
  tools::register_cluster_tools(reg);
  tools::register_pod_tools(reg);
  if (app.env().federation()) tools::register_capi_tools(reg);
}

}  // namespace mk
