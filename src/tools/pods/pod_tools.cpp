// k8s_get_pod_logs, k8s_exec_pod, k8s_port_forward_* (to be written).
#include "app/app.hpp"
#include "tools/registry.hpp"

namespace mk::tools {

void register_pod_tools(mcp::Server&, App&) {}

}  // namespace mk::tools
