#pragma once
// The Streamable HTTP MCP endpoint. 2025 era: POST carries one JSON-RPC message and is
// answered with JSON or an SSE stream; GET resumes an SSE stream from Last-Event-ID; DELETE
// ends a session. Sessions are random, bounded in number and expire when idle. 2026-07-28
// era, chosen per request: stateless POSTs whose headers must agree with the body.
#include "mcp/server.hpp"
#include "transport/http/options.hpp"
#include "transport/http/writer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <string>

namespace mk::transport::http {

class McpEndpoint {
 public:
  McpEndpoint(boost::asio::io_context& io, mcp::Server& server, Options opts);
  ~McpEndpoint();

  boost::asio::awaitable<void> handle(Request& req, Writer& w);
  void start();      // idle-session sweeper
  void close_all();  // on shutdown: cancel in-flight calls, drop sessions (their state closes)
  std::size_t sessions() const { return sessions_.size(); }

  struct StreamLog;
  struct HttpSession;

 private:
  boost::asio::awaitable<void> post(Request& req, Writer& w);
  boost::asio::awaitable<void> post_modern(Request& req, Writer& w, boost::json::value msg);
  boost::asio::awaitable<void> get(Request& req, Writer& w);
  boost::asio::awaitable<void> del(Request& req, Writer& w);
  // Streams a request's messages; false when the client went away before the response.
  // `resumable` (2025 era): a priming event and event ids for Last-Event-ID.
  boost::asio::awaitable<bool> stream_events(std::shared_ptr<StreamLog> log, std::uint64_t after, Request& req,
                                             Writer& w, bool fresh, bool resumable = true);
  // Empty session_id: a stateless (2026-07-28) request, whose "method not found" is a 404.
  boost::asio::awaitable<void> reply_json(std::shared_ptr<StreamLog> log, Request& req, Writer& w,
                                          const std::string& session_id);
  std::shared_ptr<HttpSession> find(const std::string& id);
  boost::asio::awaitable<std::shared_ptr<HttpSession>> require_session(Request& req, Writer& w);
  std::string new_session_id() const;
  void sweep();

  boost::asio::io_context& io_;
  mcp::Server& server_;
  Options opts_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;
  // Application state of stateless requests (their port-forwards outlive the request).
  std::shared_ptr<mcp::SessionData> stateless_data_;
  boost::asio::steady_timer sweeper_;
};

}  // namespace mk::transport::http
