#pragma once
// MCP method dispatch: lifecycle, tools, logging, cancellation, progress. Transport agnostic:
// a transport hands in parsed messages with their Session and receives outbound messages
// through the Session's sender.
#include "mcp/era.hpp"
#include "mcp/session.hpp"
#include "mcp/tool.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mcp {

inline constexpr const char* kLatestLegacyVersion = "2025-11-25";
bool is_supported_legacy_version(std::string_view v);

struct ServerInfo {
  std::string name;
  std::string version;
  std::string title;
  std::string instructions;
};

struct ServerOptions {
  std::size_t tools_page_size = 100;
  std::size_t max_result_text_bytes = 1 << 20;  // hard cap on a tool's text rendering
};

// Observes each tool call (metrics, audit); called with tool name, outcome and seconds.
using CallObserver = std::function<void(const std::string& tool, std::string_view outcome, double seconds)>;
// The same with the scope the application set on the call (CallContext::set_scope; "" = none).
using ScopedCallObserver =
    std::function<void(const std::string& tool, std::string_view outcome, double seconds, std::string_view scope)>;

// Traces every request other than tools/call (the application's call pipeline traces those):
// called as a request starts; the returned function is called once with its outcome
// ("success" | "error") when the response is ready. Unset: nothing is traced.
using RequestFinish = std::function<void(std::string_view outcome)>;
using RequestTracer = std::function<RequestFinish(const Session& s, std::string_view method, const json::value& id,
                                                  const json::object& params, const TraceCarrier& transport)>;

class Server {
 public:
  Server(boost::asio::any_io_executor ex, ServerInfo info, ServerOptions opts = {});

  void add_tool(Tool t);
  const std::vector<Tool>& tools() const { return tools_; }
  void set_session_factory(std::function<std::shared_ptr<SessionData>()> f) { session_factory_ = std::move(f); }
  void set_call_observer(CallObserver o) { observer_ = std::move(o); }
  void set_call_observer(ScopedCallObserver o) { scoped_observer_ = std::move(o); }
  void set_request_tracer(RequestTracer t) { request_tracer_ = std::move(t); }

  // Creates a session bound to this server (application state attached).
  std::shared_ptr<Session> make_session(Session::Sender send);
  // A session for one stateless (2026-07-28) HTTP request; `data` is the application state
  // all stateless requests share (null: a fresh one).
  std::shared_ptr<Session> make_request_session(std::shared_ptr<SessionData> data);
  std::shared_ptr<SessionData> new_session_data() const { return session_factory_ ? session_factory_() : nullptr; }

  // Where the response and request-related notifications of one message go. Empty: the
  // session's sender (stdio). HTTP passes the POST's response stream.
  using Sink = std::function<void(json::object)>;

  // Parses one raw message (a line on stdio, a POST body on HTTP) and dispatches it.
  void handle_raw(const std::shared_ptr<Session>& s, std::string_view raw, Sink sink = {});
  void handle(const std::shared_ptr<Session>& s, json::value msg, Sink sink = {});
  // The same, with the trace context of the transport request that carried the message.
  void handle(const std::shared_ptr<Session>& s, json::value msg, Sink sink, TraceCarrier transport);

  boost::asio::any_io_executor executor() const { return ex_; }

 private:
  json::value dispatch_sync(Session& s, std::string_view method, const json::object& params);
  void start_tool_call(const std::shared_ptr<Session>& s, json::value id, const json::object& params, Sink out,
                       const TraceCarrier& transport, const RequestMeta* modern = nullptr);
  void handle_modern(const std::shared_ptr<Session>& s, const json::value& id, std::string_view method,
                     const json::object& params, const Sink& out, const TraceCarrier& transport);
  json::object dispatch_modern(std::string_view method, const json::object& params) const;
  json::object initialize(Session& s, const json::object& params);
  json::object capabilities() const;
  json::object server_info() const;
  json::object list_tools(const json::object& params) const;
  void on_cancelled(Session& s, const json::object& params);

  boost::asio::any_io_executor ex_;
  ServerInfo info_;
  ServerOptions opts_;
  std::vector<Tool> tools_;
  std::function<std::shared_ptr<SessionData>()> session_factory_;
  CallObserver observer_;
  ScopedCallObserver scoped_observer_;
  RequestTracer request_tracer_;
  // Starts the request's span (when a tracer is set); the result ends it.
  RequestFinish trace_request(const Session& s, std::string_view method, const json::value& id,
                              const json::object& params, const TraceCarrier& transport) const;
};

}  // namespace mcp
