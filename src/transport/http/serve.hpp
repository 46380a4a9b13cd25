#pragma once
// Runs the Streamable HTTP transport: the MCP endpoint plus /healthz, /readyz and /metrics,
// until SIGINT/SIGTERM, then shuts down gracefully.
#include "mcp/server.hpp"
#include "transport/http/options.hpp"

namespace mk::auth {
class AuthServer;
class Store;
}  // namespace mk::auth

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>
#include <utility>

namespace mk::transport::http {

// Readiness probe: (ready, detail).
using Readiness = std::function<boost::asio::awaitable<std::pair<bool, std::string>>()>;

struct ServeHooks {
  Readiness readiness;
  std::function<void()> on_shutdown;  // e.g. close port-forwards
  std::string metrics_address;        // "" => /metrics only on the main listener
  unsigned short metrics_port = 0;
  // OAuth (--enable-oauth): serves /.well-known/oauth-* and /oauth/*, and every request to
  // the MCP endpoint needs one of its access tokens. Null: no authentication.
  auth::AuthServer* auth = nullptr;
  // Replicas share 2025-era MCP sessions through this store (--oauth-storage-type valkey);
  // null: sessions live in this process only. See mcp_endpoint.hpp.
  auth::Store* session_store = nullptr;
};

int serve(boost::asio::io_context& io, mcp::Server& server, Options opts, ServeHooks hooks);

// ":8080" -> ("", 8080); "0.0.0.0:80"; "[::1]:8080". Throws Errc::invalid_argument.
std::pair<std::string, unsigned short> split_host_port(const std::string& addr);

}  // namespace mk::transport::http
