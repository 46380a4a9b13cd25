// The write tools: k8s_create_resource, k8s_apply_resource, k8s_patch_resource,
// k8s_delete_resource, k8s_scale_resource. Each is registered only when the safety policy
// offers its verb, and each handler checks the verb again before talking to the API server.
#include "tools/resources/resource_tools.hpp"
#include "tools/resources/write_common.hpp"

namespace mk::tools {

void register_write_tools(Registrar& reg) {
  register_create_tool(reg);
  register_apply_tool(reg);
  register_patch_tool(reg);
  register_delete_tool(reg);
  register_scale_tool(reg);
}

}  // namespace mk::tools
