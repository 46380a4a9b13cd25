#pragma once
// Handlers of the resource tools, one file each; resources.cpp registers them.
#include "mcp/tool.hpp"
#include "tools/common/tool.hpp"

#include <boost/asio/awaitable.hpp>

namespace mk::tools {

boost::asio::awaitable<mcp::ToolResult> list_resources(Env& env, Call& c);
boost::json::object list_input_schema();
boost::asio::awaitable<mcp::ToolResult> get_resource(Env& env, Call& c);
boost::json::object get_input_schema();

// Registered from resources.cpp; each lives in its own file.
void register_describe_tool(Registrar& reg);  // describe.cpp
void register_write_tools(Registrar& reg);    // write_tools.cpp (create/apply/patch/delete/scale)

}  // namespace mk::tools
