#pragma once
// Handlers and schemas of the pod tools; pod_tools.cpp registers them.
#include "app/app.hpp"
#include "mcp/tool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

namespace mk::tools {

inline constexpr std::int64_t kMaxFollowSeconds = 300;
inline constexpr std::int64_t kMaxExecSeconds = 600;

boost::asio::awaitable<mcp::ToolResult> get_pod_logs(App& app, mcp::CallContext& c);
boost::json::object logs_input_schema();
boost::json::object logs_output_schema();

boost::asio::awaitable<mcp::ToolResult> exec_pod(App& app, mcp::CallContext& c);
boost::json::object exec_input_schema();

void register_port_forward_tools(mcp::Server& server, App& app);

// Wraps a handler so it counts in kubernetes_pod_operations_total{operation,status} and
// kubernetes_pod_operation_duration_seconds.
mcp::ToolHandler observed(std::string operation, mcp::ToolHandler h);

}  // namespace mk::tools
