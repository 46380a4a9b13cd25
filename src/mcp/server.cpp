#include "mcp/server.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/schema.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <chrono>

namespace mcp {
namespace asio = boost::asio;
using namespace jsonrpc;

namespace {
constexpr std::array kLegacyVersions{"2025-11-25", "2025-06-18", "2025-03-26"};

std::string id_key(const json::value& id) { return json::serialize(id); }

std::string encode_cursor(std::size_t offset) { return fmt::format("o:{}", offset); }
std::size_t decode_cursor(const json::value* c) {
  if (!c || c->is_null()) return 0;
  if (!c->is_string()) throw ProtocolError(invalid_params, "cursor must be a string");
  std::string_view s = c->as_string();
  if (s.substr(0, 2) != "o:") throw ProtocolError(invalid_params, "invalid cursor");
  try {
    return std::stoul(std::string(s.substr(2)));
  } catch (...) {
    throw ProtocolError(invalid_params, "invalid cursor");
  }
}

json::object result_json(const Tool& t, ToolResult r, std::size_t cap) {
  if (r.text.size() > cap) {
    auto n = r.text.size();
    r = ToolResult{{},
                   fmt::format("response is {} bytes, over the {} byte limit; narrow the query (filters, "
                               "limit, a smaller time range)",
                               n, cap),
                   true};
  }
  json::object out{{"content", json::array{json::object{{"type", "text"}, {"text", r.text}}}}};
  if (!r.is_error && !t.output_schema.empty() && r.structured.is_object()) out["structuredContent"] = r.structured;
  if (r.is_error) out["isError"] = true;
  return out;
}

ToolResult error_result(std::string_view code, std::string_view msg) {
  return ToolResult{{}, fmt::format("{}: {}", code, msg), true};
}
}  // namespace

bool is_supported_legacy_version(std::string_view v) {
  for (auto* s : kLegacyVersions)
    if (v == s) return true;
  return false;
}

int log_level_rank(std::string_view l) {
  static constexpr std::array names{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (l == names[i]) return static_cast<int>(i);
  return -1;
}

void Session::cancel_all() {
  for (auto& [k, inf] : inflight) {
    inf->cancelled_by_client = true;
    inf->signal.emit(asio::cancellation_type::terminal);
  }
}

void CallContext::progress(double done, std::optional<double> total, std::string message) const {
  if (progress_token_.is_null()) return;
  json::object p{{"progressToken", progress_token_}, {"progress", done}};
  if (total) p["total"] = *total;
  if (!message.empty()) p["message"] = message;
  emit(notification("notifications/progress", std::move(p)));
}

void CallContext::log(std::string_view level, json::value data) const {
  int r = log_level_rank(level);
  if (r < 0 || r < log_rank_.value_or(session_.log_rank)) return;
  emit(notification("notifications/message",
                    json::object{{"level", level}, {"logger", tool_}, {"data", std::move(data)}}));
}

void CallContext::emit(json::object msg) const {
  if (sink_) sink_(std::move(msg));
  else session_.send(std::move(msg));
}

json::object tool_to_json(const Tool& t) {
  json::object o{{"name", t.name}, {"title", t.title}, {"description", t.description}, {"inputSchema", t.input_schema}};
  if (!t.output_schema.empty()) o["outputSchema"] = t.output_schema;
  o["annotations"] = json::object{{"title", t.title},
                                  {"readOnlyHint", t.annotations.read_only},
                                  {"destructiveHint", t.annotations.destructive},
                                  {"idempotentHint", t.annotations.idempotent},
                                  {"openWorldHint", t.annotations.open_world}};
  return o;
}

Server::Server(asio::any_io_executor ex, ServerInfo info, ServerOptions opts)
    : ex_(std::move(ex)), info_(std::move(info)), opts_(opts) {}

void Server::add_tool(Tool t) { tools_.push_back(std::move(t)); }

std::shared_ptr<Session> Server::make_session(Session::Sender send) {
  auto s = std::make_shared<Session>(std::move(send));
  if (session_factory_) s->data = session_factory_();
  return s;
}

std::shared_ptr<Session> Server::make_request_session(std::shared_ptr<SessionData> data) {
  auto s = std::make_shared<Session>(Session::Sender{});
  s->data = data ? std::move(data) : new_session_data();
  return s;
}

void Server::handle_raw(const std::shared_ptr<Session>& s, std::string_view raw, Sink sink) {
  json::parse_options po;
  po.max_depth = 64;
  boost::system::error_code ec;
  json::value v = json::parse(raw, ec, {}, po);
  if (ec) {
    json::object e = error(nullptr, parse_error, fmt::format("Parse error: {}", ec.message()));
    if (sink) sink(std::move(e));
    else s->send(std::move(e));
    return;
  }
  handle(s, std::move(v), std::move(sink));
}

void Server::handle(const std::shared_ptr<Session>& s, json::value msg, Sink sink) {
  handle(s, std::move(msg), std::move(sink), TraceCarrier{});
}

void Server::handle(const std::shared_ptr<Session>& s, json::value msg, Sink sink, TraceCarrier transport) {
  Sink out = sink ? std::move(sink) : Sink([s](json::object m) { s->send(std::move(m)); });
  if (!msg.is_object()) {
    out(error(nullptr, invalid_request,
              msg.is_array() ? "Invalid Request: JSON-RPC batches are not supported" : "Invalid Request"));
    return;
  }
  auto& o = msg.as_object();
  const json::value* id = o.if_contains("id");
  const json::value* method = o.if_contains("method");
  auto* jv = o.if_contains("jsonrpc");
  if (!jv || !jv->is_string() || jv->as_string() != "2.0") {
    out(error(id && valid_id(*id) ? *id : json::value(nullptr), invalid_request,
              "Invalid Request: jsonrpc must be \"2.0\""));
    return;
  }
  if (!method) {
    // A response to a server->client request; we issue none, so there is nothing to match.
    if (o.contains("result") || o.contains("error")) return;
    out(error(id && valid_id(*id) ? *id : json::value(nullptr), invalid_request, "Invalid Request: no method"));
    return;
  }
  if (!method->is_string()) {
    out(error(id && valid_id(*id) ? *id : json::value(nullptr), invalid_request,
              "Invalid Request: method must be a string"));
    return;
  }
  std::string_view m = method->as_string();
  json::object empty;
  const json::value* pv = o.if_contains("params");
  if (pv && !pv->is_object()) {
    if (id) out(error(valid_id(*id) ? *id : json::value(nullptr), invalid_params, "params must be an object"));
    return;
  }
  const json::object& params = pv ? pv->as_object() : empty;

  if (id && valid_id(*id) && is_modern_request(m, params)) {
    handle_modern(s, *id, m, params, out, transport);
    return;
  }
  if (!id) {  // notification: never answered
    if (m == "notifications/initialized") s->initialized = true;
    else if (m == "notifications/cancelled") on_cancelled(*s, params);
    return;
  }
  if (!valid_id(*id)) {
    out(error(nullptr, invalid_request, "Invalid Request: id must be a string or integer"));
    return;
  }
  if (m == "tools/call") {
    if (s->protocol_version.empty()) {
      out(error(*id, invalid_request, "Server not initialized: send initialize first"));
      return;
    }
    start_tool_call(s, *id, params, out, transport);
    return;
  }
  auto finish = trace_request(*s, m, *id, params, transport);
  try {
    auto r = dispatch_sync(*s, m, params);
    if (finish) finish("success");
    out(response(*id, std::move(r)));
  } catch (const ProtocolError& e) {
    if (finish) finish("error");
    out(error(*id, e.code, e.message, e.data));
  } catch (const std::exception& e) {
    if (finish) finish("error");
    mk::log::error("method {} failed: {}", m, e.what());
    out(error(*id, internal_error, "Internal error"));
  }
}

RequestFinish Server::trace_request(const Session& s, std::string_view method, const json::value& id,
                                    const json::object& params, const TraceCarrier& transport) const {
  if (!request_tracer_) return {};
  return request_tracer_(s, method, id, params, transport);
}

json::value Server::dispatch_sync(Session& s, std::string_view m, const json::object& params) {
  if (m == "initialize") return initialize(s, params);
  if (m == "ping") return json::object{};
  if (s.protocol_version.empty()) throw ProtocolError(invalid_request, "Server not initialized: send initialize first");
  if (m == "tools/list") return list_tools(params);
  if (m == "logging/setLevel") {
    auto* l = params.if_contains("level");
    int r = l && l->is_string() ? log_level_rank(l->as_string()) : -1;
    if (r < 0)
      throw ProtocolError(invalid_params,
                          "level must be one of debug, info, notice, warning, error, "
                          "critical, alert, emergency");
    s.log_rank = r;
    return json::object{};
  }
  if (m == "resources/list") return json::object{{"resources", json::array{}}};
  if (m == "resources/templates/list") return json::object{{"resourceTemplates", json::array{}}};
  if (m == "prompts/list") return json::object{{"prompts", json::array{}}};
  if (m == "resources/read") {
    auto* u = params.if_contains("uri");
    throw ProtocolError(resource_not_found, "Resource not found", json::object{{"uri", u ? *u : json::value(nullptr)}});
  }
  throw ProtocolError(method_not_found, fmt::format("Method not found: {}", m));
}

json::object Server::initialize(Session& s, const json::object& params) {
  auto* pv = params.if_contains("protocolVersion");
  if (!pv || !pv->is_string()) throw ProtocolError(invalid_params, "protocolVersion is required");
  std::string requested(pv->as_string());
  s.protocol_version = is_supported_legacy_version(requested) ? requested : kLatestLegacyVersion;
  if (auto* ci = params.if_contains("clientInfo"); ci && ci->is_object()) s.client_info = ci->as_object();
  if (auto* cc = params.if_contains("capabilities"); cc && cc->is_object()) s.client_capabilities = cc->as_object();
  mk::log::debug("initialize: client={} requested={} negotiated={}",
                 s.client_info.contains("name") ? json::serialize(s.client_info.at("name")) : "?", requested,
                 s.protocol_version);
  json::object r{
      {"protocolVersion", s.protocol_version}, {"capabilities", capabilities()}, {"serverInfo", server_info()}};
  if (!info_.instructions.empty()) r["instructions"] = info_.instructions;
  return r;
}

// Prompts and resources are declared (with empty lists) so clients may list them; nothing
// changes at run time, so no listChanged and no subscriptions.
json::object Server::capabilities() const {
  return json::object{{"tools", json::object{{"listChanged", false}}},
                      {"prompts", json::object{{"listChanged", false}}},
                      {"resources", json::object{{"listChanged", false}, {"subscribe", false}}},
                      {"logging", json::object{}}};
}

json::object Server::server_info() const {
  json::object o{{"name", info_.name}, {"version", info_.version}};
  if (!info_.title.empty()) o["title"] = info_.title;
  return o;
}

namespace {
// Caching hints (SEP-2549): lists are fixed for the life of the process and the same for
// every caller.
constexpr std::int64_t kListTtlMs = 10 * 60 * 1000;
void add_cache_hints(json::object& r) {
  r["ttlMs"] = kListTtlMs;
  r["cacheScope"] = "public";
}
}  // namespace

void Server::handle_modern(const std::shared_ptr<Session>& s, const json::value& id, std::string_view m,
                           const json::object& params, const Sink& out, const TraceCarrier& transport) {
  RequestFinish finish;
  try {
    RequestMeta rm = parse_request_meta(params);
    check_modern_version(rm);
    if (m == "tools/call") {
      start_tool_call(s, id, params, out, transport, &rm);
      return;
    }
    finish = trace_request(*s, m, id, params, transport);
    json::object r = dispatch_modern(m, params);
    r["resultType"] = "complete";
    r["_meta"] = json::object{{meta::server_info, server_info()}};
    if (finish) finish("success");
    out(response(id, std::move(r)));
  } catch (const ProtocolError& e) {
    if (finish) finish("error");
    out(error(id, e.code, e.message, e.data));
  } catch (const std::exception& e) {
    if (finish) finish("error");
    mk::log::error("method {} failed: {}", m, e.what());
    out(error(id, internal_error, "Internal error"));
  }
}

// Methods of the 2026-07-28 era. initialize, ping, logging/setLevel and resources/subscribe
// were removed from it and are "not found" like any unknown method.
json::object Server::dispatch_modern(std::string_view m, const json::object& params) const {
  if (m == "server/discover") {
    json::object r{{"supportedVersions", supported_versions()}, {"capabilities", capabilities()}};
    if (!info_.instructions.empty()) r["instructions"] = info_.instructions;
    add_cache_hints(r);
    return r;
  }
  json::object r;
  if (m == "tools/list") r = list_tools(params);
  else if (m == "resources/list") r = json::object{{"resources", json::array{}}};
  else if (m == "resources/templates/list") r = json::object{{"resourceTemplates", json::array{}}};
  else if (m == "prompts/list") r = json::object{{"prompts", json::array{}}};
  else if (m == "resources/read") {
    auto* u = params.if_contains("uri");
    json::value uri = u ? *u : json::value(nullptr);
    throw ProtocolError(invalid_params, "Resource not found", json::object{{"uri", uri}});
  } else if (m == "prompts/get") {
    throw ProtocolError(invalid_params, "Prompt not found");
  } else throw ProtocolError(method_not_found, fmt::format("Method not found: {}", m));
  add_cache_hints(r);
  return r;
}

json::object Server::list_tools(const json::object& params) const {
  std::size_t off = decode_cursor(params.if_contains("cursor"));
  if (off > tools_.size()) throw ProtocolError(invalid_params, "invalid cursor");
  json::array arr;
  std::size_t end = std::min(tools_.size(), off + opts_.tools_page_size);
  for (std::size_t i = off; i < end; ++i) arr.push_back(tool_to_json(tools_[i]));
  json::object r{{"tools", std::move(arr)}};
  if (end < tools_.size()) r["nextCursor"] = encode_cursor(end);
  return r;
}

void Server::on_cancelled(Session& s, const json::object& params) {
  auto* rid = params.if_contains("requestId");
  if (!rid) return;
  auto it = s.inflight.find(id_key(*rid));
  if (it == s.inflight.end()) return;  // finished already, or never existed: ignore per spec
  it->second->cancelled_by_client = true;
  it->second->signal.emit(asio::cancellation_type::terminal);
}

namespace {
asio::awaitable<void> run_call(std::shared_ptr<Session> s, const Tool* tool, json::value id,
                               std::shared_ptr<CallContext> ctx, std::shared_ptr<Inflight> inf, ServerOptions opts,
                               CallObserver obs, Server::Sink out, json::object extra) {
  auto started = std::chrono::steady_clock::now();
  ToolResult r;
  std::string_view outcome = "success";
  try {
    r = co_await tool->handler(*ctx);
    if (r.is_error) outcome = "error";
  } catch (const mk::Error& e) {
    r = error_result(mk::to_string(e.code()), e.what());
    outcome = "error";
  } catch (const boost::system::system_error& e) {
    if (inf->timed_out)
      r = error_result("Timeout",
                       fmt::format("tool '{}' did not finish within {} s", tool->name, tool->timeout.count() / 1000.0));
    else if (e.code() == asio::error::operation_aborted) r = error_result("Cancelled", "the call was cancelled");
    else r = error_result("Unavailable", e.what());
    outcome = "error";
  } catch (const std::exception& e) {
    mk::log::error("tool {} raised: {}", tool->name, e.what());
    r = error_result("Internal", e.what());
    outcome = "error";
  }
  if (inf->timed_out && !r.is_error) {
    r = error_result("Timeout",
                     fmt::format("tool '{}' did not finish within {} s", tool->name, tool->timeout.count() / 1000.0));
    outcome = "error";
  }
  s->inflight.erase(id_key(id));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (inf->cancelled_by_client) outcome = "cancelled";
  if (obs) obs(tool->name, outcome, secs);
  // A cancelled request gets no response (spec: basic/utilities/cancellation).
  if (inf->cancelled_by_client) co_return;
  json::object result = result_json(*tool, std::move(r), opts.max_result_text_bytes);
  for (auto& [k, v] : extra) result[k] = v;
  out(jsonrpc::response(id, std::move(result)));
}
}  // namespace

void Server::start_tool_call(const std::shared_ptr<Session>& s, json::value id, const json::object& params, Sink out,
                             const TraceCarrier& transport, const RequestMeta* modern) {
  // Fields a 2026-07-28 result carries beside the tool's own.
  json::object extra;
  if (modern) {
    extra["resultType"] = "complete";
    extra["_meta"] = json::object{{meta::server_info, server_info()}};
  }
  auto* nv = params.if_contains("name");
  if (!nv || !nv->is_string()) {
    out(error(id, invalid_params, "tools/call requires params.name"));
    return;
  }
  const Tool* tool = nullptr;
  for (auto& t : tools_)
    if (t.name == nv->as_string()) tool = &t;
  if (!tool) {
    out(error(id, invalid_params, fmt::format("Unknown tool: {}", std::string_view(nv->as_string()))));
    return;
  }
  json::object args;
  if (auto* a = params.if_contains("arguments")) {
    if (a->is_object()) args = a->as_object();
    else if (!a->is_null()) {
      out(error(id, invalid_params, "arguments must be an object"));
      return;
    }
  }
  if (auto err = validate(args, tool->input_schema); !err.empty()) {
    json::object r = result_json(*tool, ToolResult{{}, "InvalidArgument: " + err, true}, opts_.max_result_text_bytes);
    for (auto& [k, v] : extra) r[k] = v;
    out(response(id, std::move(r)));
    if (observer_) observer_(tool->name, "error", 0);
    if (scoped_observer_) scoped_observer_(tool->name, "error", 0, "");
    return;
  }
  json::value token;
  CallOrigin origin{.request_id = id.is_string() ? std::string(id.as_string()) : json::serialize(id),
                    .meta = {},
                    .transport = transport};
  if (auto* meta = params.if_contains("_meta"); meta && meta->is_object()) {
    if (auto* t = meta->as_object().if_contains("progressToken")) token = *t;
    // W3C trace context (SEP-414: unprefixed keys). Longer values are invalid anyway.
    auto text = [&](const char* k) {
      auto* v = meta->as_object().if_contains(k);
      return v && v->is_string() && v->as_string().size() <= 1024 ? std::string(v->as_string()) : std::string();
    };
    origin.meta = {text("traceparent"), text("tracestate")};
  }
  auto key = id_key(id);
  if (s->inflight.contains(key)) {
    out(error(id, invalid_request, "a request with this id is already in flight"));
    return;
  }
  auto inf = std::make_shared<Inflight>();
  s->inflight[key] = inf;
  auto ctx = std::make_shared<CallContext>(*s, tool->name, std::move(args), std::move(token), out);
  if (modern) ctx->set_stateless(modern->log_rank);
  ctx->set_origin(std::move(origin));
  auto timer = std::make_shared<asio::steady_timer>(ex_, tool->timeout);
  timer->async_wait([inf](boost::system::error_code ec) {
    if (ec) return;
    inf->timed_out = true;
    inf->signal.emit(asio::cancellation_type::terminal);
  });
  CallObserver obs = observer_;
  if (scoped_observer_)
    obs = [so = scoped_observer_, plain = observer_, c = ctx.get()](const std::string& t, std::string_view o,
                                                                    double d) {
      if (plain) plain(t, o, d);
      so(t, o, d, c->scope());  // run_call holds ctx until after it calls this
    };
  asio::co_spawn(ex_, run_call(s, tool, std::move(id), ctx, inf, opts_, std::move(obs), out, std::move(extra)),
                 asio::bind_cancellation_slot(inf->signal.slot(), [timer, ctx, s](std::exception_ptr e) {
                   timer->cancel();
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       mk::log::error("tool call coroutine ended with: {}", ex.what());
                     }
                   }
                 }));
}

}  // namespace mcp
