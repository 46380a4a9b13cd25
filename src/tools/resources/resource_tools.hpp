#pragma once
// Handlers of the resource tools, one file each; resources.cpp registers them.
#include "app/app.hpp"
#include "mcp/tool.hpp"

#include <boost/asio/awaitable.hpp>

namespace mk::tools {

boost::asio::awaitable<mcp::ToolResult> list_resources(App& app, mcp::CallContext& c);
boost::json::object list_input_schema();
boost::asio::awaitable<mcp::ToolResult> get_resource(App& app, mcp::CallContext& c);
boost::json::object get_input_schema();

// Registered from resources.cpp; each lives in its own file.
void register_describe_tool(mcp::Server& server, App& app);  // describe.cpp
void register_write_tools(mcp::Server& server, App& app);    // write_tools.cpp (create/apply/patch/delete/scale)

}  // namespace mk::tools
