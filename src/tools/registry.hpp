#pragma once
// One registration function per tool group; app/register.cpp calls them all.
#include "mcp/server.hpp"

namespace mk {
class App;
}

namespace mk::tools {

void register_resource_tools(mcp::Server& server, App& app);
void register_context_tools(mcp::Server& server, App& app);
void register_cluster_tools(mcp::Server& server, App& app);
void register_pod_tools(mcp::Server& server, App& app);  // tools/pods: logs, exec, port-forward

}  // namespace mk::tools
