// The write tools: k8s_create_resource, k8s_apply_resource, k8s_patch_resource,
// k8s_delete_resource, k8s_scale_resource. Each is registered only when the safety policy
// offers its verb, and each handler checks the verb again before talking to the API server.
#include "tools/resources/resource_tools.hpp"
#include "tools/resources/write_common.hpp"

namespace mk::tools {

void register_write_tools(mcp::Server& server, App& app) {
  register_create_tool(server, app);
  register_apply_tool(server, app);
  register_patch_tool(server, app);
  register_delete_tool(server, app);
  register_scale_tool(server, app);
}

}  // namespace mk::tools
