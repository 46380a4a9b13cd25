// k8s_get_api_resources and k8s_get_cluster_health.
#include "app/app.hpp"
#include "tools/registry.hpp"

namespace mk::tools {

void register_cluster_tools(mcp::Server&, App&) {}

}  // namespace mk::tools
