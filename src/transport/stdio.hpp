#pragma once
// stdio transport: newline-delimited JSON-RPC on stdin/stdout. Nothing but protocol goes to
// stdout; logs go to stderr.
#include "mcp/server.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>

namespace mk::transport {

struct StdioOptions {
  std::size_t max_line_bytes = 8 << 20;  // a longer line is answered with a parse error and skipped
  std::chrono::milliseconds drain_grace{std::chrono::seconds(5)};  // in-flight calls after stdin EOF
};

// Runs until stdin closes (then drains in-flight calls) or `stop` is called. Returns when the
// session is over; the caller owns io_context's lifetime.
void serve_stdio(boost::asio::io_context& io, mcp::Server& server, StdioOptions opts,
                 std::function<void(const std::shared_ptr<mcp::Session>&)> on_session_end = {});

}  // namespace mk::transport
