// k8s_create_resource, k8s_apply_resource, k8s_patch_resource, k8s_delete_resource,
// k8s_scale_resource (to be written).
#include "tools/resources/resource_tools.hpp"

namespace mk::tools {

void register_write_tools(mcp::Server&, App&) {}

}  // namespace mk::tools
