#pragma once
// Handlers and schemas of the pod tools; pod_tools.cpp registers them.
#include "mcp/tool.hpp"
#include "tools/common/tool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

namespace mk::tools {

inline constexpr std::int64_t kMaxFollowSeconds = 300;
inline constexpr std::int64_t kMaxExecSeconds = 600;

boost::asio::awaitable<mcp::ToolResult> get_pod_logs(Env& env, Call& c);
boost::json::object logs_input_schema();
boost::json::object logs_output_schema();

boost::asio::awaitable<mcp::ToolResult> exec_pod(Env& env, Call& c);
boost::json::object exec_input_schema();

void register_port_forward_tools(Registrar& reg);

// Wraps a handler so it counts in kubernetes_pod_operations_total{operation,status} and
// kubernetes_pod_operation_duration_seconds.
pipeline::Handler observed(std::string operation, pipeline::Handler h);

}  // namespace mk::tools
