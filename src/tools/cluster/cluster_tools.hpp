#pragma once
// Handlers of the cluster tools, one file each; cluster_tools.cpp registers them.
#include "mcp/tool.hpp"
#include "tools/common/tool.hpp"

#include <boost/asio/awaitable.hpp>

namespace mk::tools {

boost::asio::awaitable<mcp::ToolResult> get_api_resources(Env& env, Call& c);  // api_resources.cpp
boost::json::object api_resources_input_schema();
boost::asio::awaitable<mcp::ToolResult> get_cluster_health(Env& env, Call& c);  // cluster_health.cpp
boost::json::object cluster_health_input_schema();

}  // namespace mk::tools
