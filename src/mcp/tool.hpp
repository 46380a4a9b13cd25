#pragma once
// A tool as the MCP layer sees it: metadata, schemas and a coroutine handler.
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace mcp {

namespace json = boost::json;
class Session;

struct ToolAnnotations {
  bool read_only = true;
  bool destructive = false;
  bool idempotent = true;
  bool open_world = false;
};

struct ToolResult {
  json::value structured;  // object when the tool declares an outputSchema
  std::string text;        // compact human/LLM rendering
  bool is_error = false;
};

// W3C trace context as a carrier held it, raw: the pipeline validates it (instrumentation/trace.hpp).
struct TraceCarrier {
  std::string traceparent, tracestate;
};
// Where a call came from, for tracing: its JSON-RPC id, its params._meta trace context and the
// trace context of the transport request that carried it (HTTP headers; empty on stdio).
struct CallOrigin {
  std::string request_id;
  TraceCarrier meta, transport;
};

// Per-call view handed to a tool handler.
class CallContext {
 public:
  using Sink = std::function<void(json::object)>;
  CallContext(Session& s, std::string tool, json::object args, json::value progress_token, Sink sink = {})
      : session_(s), tool_(std::move(tool)), args_(std::move(args)), progress_token_(std::move(progress_token)),
        sink_(std::move(sink)) {}
  // A 2026-07-28 request: no session state may carry over to later calls, and the log level
  // is the request's own.
  void set_stateless(int log_rank) {
    stateless_ = true;
    log_rank_ = log_rank;
  }
  bool stateless() const { return stateless_; }
  void set_origin(CallOrigin o) { origin_ = std::move(o); }
  const CallOrigin& origin() const { return origin_; }

  const json::object& args() const { return args_; }
  const std::string& tool() const { return tool_; }
  Session& session() const { return session_; }
  bool wants_progress() const { return !progress_token_.is_null(); }
  // Sends notifications/progress when the caller passed a progressToken; no-op otherwise.
  void progress(double done, std::optional<double> total = std::nullopt, std::string message = {}) const;
  // Sends notifications/message when the session's log level lets it through.
  void log(std::string_view level, json::value data) const;
  // A label value the application gives this call's metrics (the scoped call observer's
  // `scope`); "" = none. From a fixed set, never user input.
  void set_scope(std::string_view s) { scope_ = s; }
  std::string_view scope() const { return scope_; }

 private:
  Session& session_;
  std::string tool_;
  json::object args_;
  json::value progress_token_;
  Sink sink_;                    // where this request's notifications go (an HTTP response stream); session otherwise
  std::optional<int> log_rank_;  // the request's own level (stateless); else the session's
  bool stateless_ = false;
  CallOrigin origin_;
  std::string_view scope_;
  void emit(json::object msg) const;
};

using ToolHandler = std::function<boost::asio::awaitable<ToolResult>(CallContext&)>;

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  json::object input_schema;
  json::object output_schema;  // empty => no structuredContent
  ToolAnnotations annotations;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  ToolHandler handler;
};

json::object tool_to_json(const Tool& t);

}  // namespace mcp
