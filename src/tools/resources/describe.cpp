// k8s_describe_resource (to be written).
#include "tools/resources/resource_tools.hpp"

namespace mk::tools {

void register_describe_tool(mcp::Server&, App&) {}

}  // namespace mk::tools
