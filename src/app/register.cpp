#include "app/app.hpp"
#include "tools/registry.hpp"

namespace mk {

void register_all_tools(mcp::Server& server, App& app) {
  tools::register_resource_tools(server, app);
  tools::register_context_tools(server, app);
  tools::register_cluster_tools(server, app);
  tools::register_pod_tools(server, app);
}

}  // namespace mk
