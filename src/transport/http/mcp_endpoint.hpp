#pragma once
// The Streamable HTTP MCP endpoint. 2025 era: POST carries one JSON-RPC message and is
// answered with JSON or an SSE stream; GET resumes an SSE stream from Last-Event-ID; DELETE
// ends a session. Sessions are random, bounded in number and expire when idle. 2026-07-28
// era, chosen per request: stateless POSTs whose headers must agree with the body.
//
// Shared sessions (a Store shared by replicas, e.g. Valkey): a 2025-era session's record
// (owner, negotiated version, capabilities, log level, the application's snapshot such as the
// selected context) is written to the store, and a replica that does not know a session id
// adopts it from there, so a load balancer needs no sticky routing. The local map is then a
// cache: every request reads the record (a DELETE or a context switch on another replica is
// seen at once). Only an open SSE stream (and what lives in this process, like port-forwards)
// stays on the replica that holds it.
#include "mcp/server.hpp"
#include "transport/http/options.hpp"
#include "transport/http/writer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <string>

namespace mk::auth {
class Store;
}

namespace mk::transport::http {

class EventLog;
class LogBudget;

class McpEndpoint {
 public:
  // `shared`: the store sessions are shared through (null: this process only); must outlive this.
  McpEndpoint(boost::asio::io_context& io, mcp::Server& server, Options opts, auth::Store* shared = nullptr);
  ~McpEndpoint();

  boost::asio::awaitable<void> handle(Request& req, Writer& w);
  void start();      // idle-session sweeper
  void close_all();  // on shutdown: cancel in-flight calls, drop sessions (their state closes)
  std::size_t sessions() const { return sessions_.size(); }

  struct HttpSession;

 private:
  using SessionMap = std::map<std::string, std::shared_ptr<HttpSession>>;
  boost::asio::awaitable<void> post(Request& req, Writer& w);
  boost::asio::awaitable<void> post_modern(Request& req, Writer& w, boost::json::value msg);
  boost::asio::awaitable<void> get(Request& req, Writer& w);
  boost::asio::awaitable<void> del(Request& req, Writer& w);
  // Streams a request's messages as the log's reader `ticket` (see EventLog::attach); true
  // when the response was written. `resumable` (2025 era): a priming event and event ids for
  // Last-Event-ID.
  // `hs`: the session whose record is saved before the response goes out (null: stateless).
  boost::asio::awaitable<bool> stream_events(std::shared_ptr<EventLog> log, std::uint64_t ticket, std::uint64_t after,
                                             Request& req, Writer& w, bool fresh, bool resumable,
                                             std::shared_ptr<HttpSession> hs);
  // Empty session_id: a stateless (2026-07-28) request, whose "method not found" is a 404.
  boost::asio::awaitable<void> reply_json(std::shared_ptr<EventLog> log, std::uint64_t ticket, Request& req, Writer& w,
                                          const std::string& session_id, std::shared_ptr<HttpSession> hs);
  // A new session for an initialize POST, evicting one when a cap is reached; answers 429/503
  // itself and returns null when every candidate is busy.
  boost::asio::awaitable<std::shared_ptr<HttpSession>> open_session(Request& req, Writer& w,
                                                                    const boost::json::value& id);
  bool evict_one(const std::string* client);
  std::shared_ptr<HttpSession> find(const std::string& id);
  boost::asio::awaitable<std::shared_ptr<HttpSession>> require_session(Request& req, Writer& w);
  std::string new_session_id() const;
  // Cancels the session's calls, ends its open streams and forgets it.
  void drop_session(SessionMap::iterator it);
  void expire_idle();
  void sweep();
  void park(const std::shared_ptr<EventLog>& log);
  // Shared sessions (see above); each is a no-op without a shared store.
  std::string shared_record(const HttpSession& hs) const;
  // Writes the session's record when it changed (or refreshes its expiry now and then); false
  // when another replica deleted the session meanwhile.
  boost::asio::awaitable<bool> publish(std::shared_ptr<HttpSession> hs);
  // The record of `sid` adopted into (or refreshed onto) the local map; null when the store has
  // none or the caller is not its owner. Throws when the store fails.
  boost::asio::awaitable<std::shared_ptr<HttpSession>> adopt(const std::string& sid, Writer& w);

  boost::asio::io_context& io_;
  mcp::Server& server_;
  Options opts_;
  SessionMap sessions_;
  // Application state of stateless requests (their port-forwards outlive the request).
  std::shared_ptr<mcp::SessionData> stateless_data_;
  std::shared_ptr<LogBudget> budget_;  // finished SSE logs kept for resumption
  boost::asio::steady_timer sweeper_;
  auth::Store* shared_;
};

}  // namespace mk::transport::http
