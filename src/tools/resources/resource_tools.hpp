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

}  // namespace mk::tools
