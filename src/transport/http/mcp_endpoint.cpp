// Responses are built into named locals before co_await: g++ 12 destroys call temporaries
// inside a co_await expression twice (docs/architecture.md).
#include "transport/http/mcp_endpoint.hpp"

#include "auth/crypto.hpp"
#include "auth/store.hpp"
#include "instrumentation/metrics.hpp"
#include "mcp/jsonrpc.hpp"
#include "transport/http/event_log.hpp"
#include "transport/http/modern_headers.hpp"
#include "transport/http/origin.hpp"
#include "transport/http/session_policy.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <openssl/rand.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <vector>

namespace mk::transport::http {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

struct McpEndpoint::HttpSession {
  std::string id;
  std::string client;  // remote address, for the per-client cap
  std::string owner;   // OAuth subject that created it; only that user reaches it
  std::shared_ptr<mcp::Session> mcp;
  std::chrono::steady_clock::time_point last_seen = std::chrono::steady_clock::now();
  std::map<std::uint64_t, std::shared_ptr<EventLog>> streams;  // bounded: finished ones are evicted
  std::uint64_t next_stream = 1;
  int active_requests = 0;  // POSTs and GETs open
  bool used = false;        // a request beyond initialize
  // Shared sessions: the record last written to or read from the store ("" => not yet).
  std::string shared;
  std::chrono::steady_clock::time_point shared_at;

  bool busy() const { return active_requests > 0 || !mcp->inflight.empty(); }
};

namespace {
constexpr std::size_t kMaxStreamsPerSession = 32;

std::string header(const Request& req, std::string_view name) { return std::string(req[name]); }

Response rpc_error(const Request& req, bhttp::status st, int code, std::string msg, json::value id = nullptr,
                   const json::value& data = nullptr) {
  return make_response(req, st, json::serialize(mcp::jsonrpc::error(id, code, msg, data)));
}

std::string sse_event(std::uint64_t stream, std::uint64_t seq, const std::string& data) {
  return fmt::format("id: {}_{}\nevent: message\ndata: {}\n\n", stream, seq, data);
}

// A tool call that may send notifications before its response: progress when asked for, or
// (2026-07-28) log messages when the request names a log level.
bool wants_sse(const json::object& msg) {
  auto* m = msg.if_contains("method");
  if (!m || !m->is_string() || m->as_string() != "tools/call") return false;
  auto* p = msg.if_contains("params");
  if (!p || !p->is_object()) return false;
  auto* meta = p->as_object().if_contains("_meta");
  return meta && meta->is_object() &&
         (meta->as_object().contains("progressToken") || meta->as_object().contains(mcp::meta::log_level));
}

// GET streams and DELETE of sessions do not exist in the 2026-07-28 era.
Response modern_method_not_allowed(const Request& req) {
  auto res = make_response(req, bhttp::status::method_not_allowed,
                           R"({"error":"protocol version 2026-07-28 is stateless: POST only"})");
  res.set(bhttp::field::allow, "POST");
  return res;
}

// The W3C trace context headers, raw (the pipeline validates them); over-long ones are invalid anyway.
mcp::TraceCarrier trace_headers(const Request& req) {
  auto h = [&](const char* n) { return req[n].size() <= 1024 ? std::string(req[n]) : std::string(); };
  return {h("traceparent"), h("tracestate")};
}

// The store key of a session: its id hashed, so the store's key space reveals no usable id.
std::string shared_key(const std::string& id) { return "mcp-session:" + auth::sha256_b64url(id); }
// A record beyond this drops the client's info and capabilities (only what a replica needs to
// serve the session stays); client-chosen objects must not make every request's read big.
constexpr std::size_t kMaxSharedRecord = 16 * 1024;

// Another replica's record onto a local session (untrusted: it came from a store).
void apply_record(mcp::Session& s, const json::object& r) {
  if (auto* v = r.if_contains("pv"); v && v->is_string() && mcp::is_supported_legacy_version(v->as_string()))
    s.protocol_version = std::string(v->as_string());
  if (auto* v = r.if_contains("init"); v && v->is_bool()) s.initialized = v->as_bool();
  if (auto* v = r.if_contains("lr"); v && v->is_int64() && v->as_int64() >= 0 && v->as_int64() <= 99)
    s.log_rank = static_cast<int>(v->as_int64());
  if (auto* v = r.if_contains("ci"); v && v->is_object()) s.client_info = v->as_object();
  if (auto* v = r.if_contains("cc"); v && v->is_object()) s.client_capabilities = v->as_object();
  if (auto* v = r.if_contains("app"); v && v->is_object() && s.data) s.data->restore(v->as_object());
}

const json::object& params_of(const json::object& msg) {
  static const json::object empty;
  auto* p = msg.if_contains("params");
  return p && p->is_object() ? p->as_object() : empty;
}
}  // namespace

McpEndpoint::McpEndpoint(asio::io_context& io, mcp::Server& server, Options opts, auth::Store* shared)
    : io_(io), server_(server), opts_(std::move(opts)),
      budget_(std::make_shared<LogBudget>(
          EventLogLimits{.max_bytes = opts_.sse_log_max_bytes, .budget_bytes = opts_.sse_log_budget_bytes})),
      sweeper_(io), shared_(shared) {}

McpEndpoint::~McpEndpoint() { close_all(); }

void McpEndpoint::start() { sweep(); }

void McpEndpoint::drop_session(SessionMap::iterator it) {
  auto& s = *it->second;
  s.mcp->cancel_all();
  // A cancelled call sends no response: its POST (and any resume GET) ends now instead of
  // waiting for the deadline.
  for (auto& [n, log] : s.streams) {
    if (!log->finished()) log->close(EventLog::End::session_closed);
    else log->expire();
  }
  sessions_.erase(it);
  metrics::Registry::global().set("mcp_sessions_active", {}, static_cast<double>(sessions_.size()));
}

void McpEndpoint::expire_idle() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    if (it->second->active_requests == 0 && now - it->second->last_seen > opts_.session_idle_timeout) {
      log::debug("MCP session {} expired after idle timeout", it->first.substr(0, 8));
      drop_session(it);
    }
    it = next;
  }
}

void McpEndpoint::sweep() {
  expire_idle();
  metrics::Registry::global().set("mcp_sessions_active", {}, static_cast<double>(sessions_.size()));
  // A quarter of the timeout, within [250 ms, 30 s] (whole seconds / 4 could be 0: a busy loop).
  sweeper_.expires_after(std::clamp<std::chrono::steady_clock::duration>(
      std::chrono::duration_cast<std::chrono::milliseconds>(opts_.session_idle_timeout) / 4, 250ms, 30s));
  sweeper_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sweep();
  });
}

void McpEndpoint::close_all() {
  sweeper_.cancel();
  while (!sessions_.empty()) drop_session(sessions_.begin());
  stateless_data_.reset();
  metrics::Registry::global().set("mcp_sessions_active", {}, 0);
}

void McpEndpoint::park(const std::shared_ptr<EventLog>& log) { budget_->park(log); }

std::string McpEndpoint::new_session_id() const {
  unsigned char raw[16];
  RAND_bytes(raw, sizeof raw);
  std::string s;
  for (unsigned char c : raw) s += fmt::format("{:02x}", c);
  return s;
}

std::shared_ptr<McpEndpoint::HttpSession> McpEndpoint::find(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  it->second->last_seen = std::chrono::steady_clock::now();
  return it->second;
}

// Evicts the best candidate among all sessions, or among one client's; false when all busy.
bool McpEndpoint::evict_one(const std::string* client) {
  std::vector<SessionMap::iterator> its;
  std::vector<SessionState> states;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    auto& s = *it->second;
    if (client && s.client != *client) continue;
    its.push_back(it);
    states.push_back({.busy = s.busy(), .initialized = s.mcp->initialized, .used = s.used, .last_seen = s.last_seen});
  }
  auto victim = pick_eviction(states);
  if (!victim) return false;
  auto it = its[*victim];
  log::debug("MCP session {} evicted to make room ({} cap)", it->first.substr(0, 8), client ? "per-client" : "total");
  metrics::Registry::global().inc("mcp_sessions_evicted_total", {{"cap", client ? "client" : "total"}});
  drop_session(it);
  return true;
}

asio::awaitable<std::shared_ptr<McpEndpoint::HttpSession>> McpEndpoint::open_session(Request& req, Writer& w,
                                                                                     const json::value& id) {
  std::size_t mine = 0;
  for (auto& [k, s] : sessions_) mine += s->client == w.peer;
  if (mine >= opts_.max_sessions_per_client && !evict_one(&w.peer)) {
    {
      auto res_ = rpc_error(req, bhttp::status::too_many_requests, mcp::jsonrpc::internal_error,
                            "too many MCP sessions from this address, all busy; try again later", id);
      co_await w.send(std::move(res_));
    }
    co_return nullptr;
  }
  if (sessions_.size() >= opts_.max_sessions) expire_idle();
  if (sessions_.size() >= opts_.max_sessions && !evict_one(nullptr)) {
    {
      auto res_ = rpc_error(req, bhttp::status::service_unavailable, mcp::jsonrpc::internal_error,
                            "too many MCP sessions, all busy; try again later", id);
      co_await w.send(std::move(res_));
    }
    co_return nullptr;
  }
  if (shared_) {
    // Replicas share the store, so the local caps do not bound what one user keeps there: at
    // most max_sessions_per_client new sessions per user per idle timeout, across replicas.
    bool over = false, failed = false;
    try {
      auto key = "mcp-sessions-by:" + auth::sha256_b64url(w.identity.subject);
      auto window = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.session_idle_timeout);
      auto n = co_await shared_->incr(std::move(key), window);
      over = n > static_cast<std::int64_t>(opts_.max_sessions_per_client);
    } catch (const std::exception& e) {
      log::warn("shared MCP sessions: {}", e.what());
      failed = true;
    }
    if (over || failed) {
      auto res_ = over ? rpc_error(req, bhttp::status::too_many_requests, mcp::jsonrpc::internal_error,
                                   "too many new MCP sessions for this user; try again later", id)
                       : rpc_error(req, bhttp::status::service_unavailable, mcp::jsonrpc::internal_error,
                                   "session store unavailable; try again later", id);
      co_await w.send(std::move(res_));
      co_return nullptr;
    }
  }
  auto hs = std::make_shared<HttpSession>();
  hs->id = new_session_id();
  hs->client = w.peer;
  hs->mcp = server_.make_session({});  // every message is routed through a request stream
  hs->mcp->id = hs->id;
  hs->owner = w.identity.subject;
  hs->mcp->identity = w.identity;
  sessions_[hs->id] = hs;
  metrics::Registry::global().set("mcp_sessions_active", {}, static_cast<double>(sessions_.size()));
  co_return hs;
}

asio::awaitable<void> McpEndpoint::handle(Request& req, Writer& w) {
  // DNS rebinding: a loopback-bound server answers only to loopback Host names, and browsers
  // only from allowed Origins.
  // A wildcard or other non-loopback bind answers to any Host name (Origin is still checked).
  bool loopback_bind = is_loopback_address(opts_.address);
  bool host_ok =
      !loopback_bind || is_loopback_host(header(req, "Host")) ||
      std::find(opts_.allowed_origins.begin(), opts_.allowed_origins.end(), "*") != opts_.allowed_origins.end();
  if (!host_ok || !origin_allowed(header(req, "Origin"), opts_.allowed_origins)) {
    {
      auto res_ = rpc_error(req, bhttp::status::forbidden, mcp::jsonrpc::invalid_request,
                            host_ok ? "Forbidden: Origin not allowed" : "Forbidden: Host not allowed");
      co_await w.send(std::move(res_));
    }
    co_return;
  }
  if (req.method() != bhttp::verb::post && header(req, "MCP-Protocol-Version") == mcp::kModernVersion) {
    auto res_ = modern_method_not_allowed(req);
    co_await w.send(std::move(res_));
    co_return;
  }
  switch (req.method()) {
    case bhttp::verb::post: co_await post(req, w); break;
    case bhttp::verb::get: co_await get(req, w); break;
    case bhttp::verb::delete_: co_await del(req, w); break;
    default: {
      auto res = make_response(req, bhttp::status::method_not_allowed, R"({"error":"method not allowed"})");
      res.set(bhttp::field::allow, "GET, POST, DELETE");
      co_await w.send(std::move(res));
    }
  }
}

asio::awaitable<void> McpEndpoint::post(Request& req, Writer& w) {
  auto ct = header(req, "Content-Type");
  if (ct.find("application/json") == std::string::npos) {
    {
      auto res_ = rpc_error(req, bhttp::status::unsupported_media_type, mcp::jsonrpc::invalid_request,
                            "Content-Type must be application/json");
      co_await w.send(std::move(res_));
    }
    co_return;
  }
  auto accept = header(req, "Accept");
  if (!accept.empty() && accept.find("application/json") == std::string::npos &&
      accept.find("text/event-stream") == std::string::npos && accept.find("*/*") == std::string::npos) {
    {
      auto res_ = rpc_error(req, bhttp::status::not_acceptable, mcp::jsonrpc::invalid_request,
                            "Accept must include application/json and text/event-stream");
      co_await w.send(std::move(res_));
    }
    co_return;
  }
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 64;
  json::value msg = json::parse(req.body(), ec, {}, po);
  if (ec) {
    {
      auto res_ = rpc_error(req, bhttp::status::bad_request, mcp::jsonrpc::parse_error, "Parse error: " + ec.message());
      co_await w.send(std::move(res_));
    }
    co_return;
  }
  if (!msg.is_object()) {
    {
      auto res_ =
          rpc_error(req, bhttp::status::bad_request, mcp::jsonrpc::invalid_request,
                    "Invalid Request: one JSON-RPC message per POST (batches are not supported)");  // named: g++ 12
      co_await w.send(std::move(res_));
    }
    co_return;
  }
  auto& o = msg.as_object();
  auto* method = o.if_contains("method");
  {
    std::string_view name = method && method->is_string() ? std::string_view(method->as_string()) : "";
    if (header(req, "MCP-Protocol-Version") == mcp::kModernVersion || mcp::is_modern_request(name, params_of(o))) {
      co_await post_modern(req, w, std::move(msg));
      co_return;
    }
  }
  bool is_request = o.contains("id") && method;
  bool is_initialize = is_request && method->is_string() && method->as_string() == "initialize";
  auto version = header(req, "MCP-Protocol-Version");
  if (!version.empty() && !mcp::is_supported_legacy_version(version)) {
    {
      auto res_ = rpc_error(req, bhttp::status::bad_request, mcp::jsonrpc::invalid_request,
                            fmt::format("Unsupported MCP-Protocol-Version: {}", version));
      co_await w.send(std::move(res_));
    }
    co_return;
  }

  std::shared_ptr<HttpSession> hs;
  if (is_initialize) {
    hs = co_await open_session(req, w, o.at("id"));
  } else {
    hs = co_await require_session(req, w);
  }
  if (!hs) co_return;

  if (!is_request) {  // notification or a client response: accepted, nothing to return
    // A cancelled request's POST ends now (without a response, per the spec) rather than at
    // its deadline; the server cancels the call itself.
    if (method && method->is_string() && method->as_string() == "notifications/cancelled")
      if (auto* rid = params_of(o).if_contains("requestId")) {
        auto key = json::serialize(*rid);
        for (auto& [n, l] : hs->streams)
          if (!l->finished() && l->request_key() == key) l->close(EventLog::End::cancelled);
      }
    server_.handle(hs->mcp, std::move(msg), [](json::object) {});
    bool live = co_await publish(hs);  // before the answer: the client's next request may go elsewhere
    {
      auto res_ = make_response(req, bhttp::status::accepted, "", "");
      co_await w.send(std::move(res_));
    }
    if (!live)
      if (auto it = sessions_.find(hs->id); it != sessions_.end() && it->second == hs) drop_session(it);
    co_return;
  }
  if (!is_initialize) hs->used = true;

  // Evict finished stream logs beyond the bound (oldest first).
  while (hs->streams.size() >= kMaxStreamsPerSession) {
    auto victim = std::find_if(hs->streams.begin(), hs->streams.end(), [](auto& p) { return p.second->finished(); });
    if (victim == hs->streams.end()) victim = hs->streams.begin();
    if (victim->second->finished()) victim->second->expire();
    hs->streams.erase(victim);
  }
  auto log = std::make_shared<EventLog>(io_.get_executor(), hs->next_stream++, json::serialize(o.at("id")),
                                        EventLogLimits{.max_bytes = opts_.sse_log_max_bytes});
  hs->streams[log->number()] = log;
  bool sse = !opts_.disable_streaming && wants_sse(o);
  // The POST is the log's reader before anything is pushed, so the log cannot be parked (and
  // expired by the byte budget) before its response is written.
  auto ticket = log->attach();
  ++hs->active_requests;
  server_.handle(
      hs->mcp, std::move(msg),
      [log, budget = budget_](json::object m) {
        log->push(m);
        if (log->finished() && !log->has_reader()) budget->park(log);  // client gone: kept within the budget
      },
      trace_headers(req));
  if (sse) {
    co_await stream_events(log, ticket, 0, req, w, true, true, hs);
  } else {
    co_await reply_json(log, ticket, req, w, hs->id, hs);
    hs->streams.erase(log->number());
    log->expire();  // never resumed: JSON answers have no event ids
  }
  --hs->active_requests;
  hs->last_seen = std::chrono::steady_clock::now();
  // Normally done before the answer went out (reply_json, stream_events); here for what came
  // after it, and to keep the record alive.
  bool live = co_await publish(hs);  // named: g++ 12 (see fill() in spdy_session.cpp)
  if (!live)
    if (auto it = sessions_.find(hs->id); it != sessions_.end() && it->second == hs) drop_session(it);
}

std::string McpEndpoint::shared_record(const HttpSession& hs) const {
  const auto& m = *hs.mcp;
  json::object r{
      {"v", 1}, {"owner", hs.owner}, {"pv", m.protocol_version}, {"init", m.initialized}, {"lr", m.log_rank}};
  if (m.data) r["app"] = m.data->snapshot();
  json::object full = r;
  full["ci"] = m.client_info;
  full["cc"] = m.client_capabilities;
  auto text = json::serialize(full);
  return text.size() <= kMaxSharedRecord ? text : json::serialize(r);
}

asio::awaitable<bool> McpEndpoint::publish(std::shared_ptr<HttpSession> hs) {
  if (!shared_ || hs->mcp->protocol_version.empty()) co_return true;
  auto record = shared_record(*hs);
  auto now = std::chrono::steady_clock::now();
  auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.session_idle_timeout);
  bool present = true;
  try {
    auto key = shared_key(hs->id);
    auto value = record;
    if (hs->shared.empty()) {
      co_await shared_->put(std::move(key), std::move(value), ttl);
    } else if (record != hs->shared) {
      present = co_await shared_->put_if_present(std::move(key), std::move(value), ttl);
    } else if (now - hs->shared_at > opts_.session_idle_timeout / 8) {
      present = co_await shared_->touch(std::move(key), ttl);
    } else {
      co_return true;
    }
    hs->shared = std::move(record);
    hs->shared_at = now;
  } catch (const std::exception& e) {
    // The next request reads the record again; a session is never dropped for a store hiccup.
    log::warn("shared MCP sessions: could not save session {}: {}", hs->id.substr(0, 8), e.what());
  }
  if (!present) log::debug("MCP session {} was deleted on another replica", hs->id.substr(0, 8));
  co_return present;
}

asio::awaitable<std::shared_ptr<McpEndpoint::HttpSession>> McpEndpoint::adopt(const std::string& sid, Writer& w) {
  auto key = shared_key(sid);
  auto rec = co_await shared_->get(std::move(key));
  auto it = sessions_.find(sid);  // after the wait: another request may have adopted it
  std::shared_ptr<HttpSession> local = it == sessions_.end() ? nullptr : it->second;
  json::object r;
  if (rec) {
    boost::system::error_code ec;
    json::parse_options po;
    po.max_depth = 32;
    auto v = json::parse(*rec, ec, {}, po);
    if (!ec && v.is_object()) r = std::move(v.as_object());
    else log::warn("shared MCP sessions: session {} has an unreadable record", sid.substr(0, 8));
  }
  auto* owner = r.if_contains("owner");
  if (!owner || !owner->is_string()) {
    // A session whose first save failed (the store was away) is still this replica's; the next
    // answer saves it again. Any other: deleted (or expired) elsewhere.
    if (!rec && local && local->shared.empty() && local->owner == w.identity.subject) co_return local;
    if (local && local->active_requests == 0) drop_session(it);
    co_return nullptr;
  }
  if (owner->as_string() != w.identity.subject) {
    log::warn("oauth audit: session {} requested by subject={}, not its owner", sid.substr(0, 8), w.identity.subject);
    co_return nullptr;
  }
  if (local) {
    if (*rec != local->shared) {
      apply_record(*local->mcp, r);
      local->shared = *rec;
    }
    local->last_seen = std::chrono::steady_clock::now();
    co_return local;
  }
  if (sessions_.size() >= opts_.max_sessions) expire_idle();
  if (sessions_.size() >= opts_.max_sessions && !evict_one(nullptr))
    fail(Errc::unavailable, "too many MCP sessions on this replica, all busy");
  auto hs = std::make_shared<HttpSession>();
  hs->id = sid;
  hs->client = w.peer;
  hs->owner = w.identity.subject;
  hs->mcp = server_.make_session({});
  hs->mcp->id = sid;
  hs->mcp->identity = w.identity;
  apply_record(*hs->mcp, r);
  hs->shared = *rec;
  hs->shared_at = std::chrono::steady_clock::now();
  hs->used = true;
  sessions_[sid] = hs;
  metrics::Registry::global().inc("mcp_sessions_adopted_total", {});
  metrics::Registry::global().set("mcp_sessions_active", {}, static_cast<double>(sessions_.size()));
  log::debug("MCP session {} adopted from the shared store", sid.substr(0, 8));
  co_return hs;
}

// One stateless request: _meta (-32602), then headers against the body (-32020), then the
// version (-32022), each a 400 before anything runs; then served on a throw-away session
// that shares the stateless application state.
asio::awaitable<void> McpEndpoint::post_modern(Request& req, Writer& w, json::value msg) {
  auto& o = msg.as_object();
  auto* mv = o.if_contains("method");
  auto* idv = o.if_contains("id");
  if (!mv || !mv->is_string() || !idv || !mcp::jsonrpc::valid_id(*idv)) {
    // Notifications (clients send no responses in this era) are accepted; malformed
    // messages get the dispatcher's JSON-RPC error.
    bool notification = mv && mv->is_string() && !idv;
    if (notification) {
      auto res_ = make_response(req, bhttp::status::accepted, "", "");
      co_await w.send(std::move(res_));
      co_return;
    }
    json::object reply;
    auto session = server_.make_request_session(nullptr);
    server_.handle(session, std::move(msg), [&reply](json::object m) { reply = std::move(m); });
    auto res_ = make_response(req, bhttp::status::bad_request, json::serialize(reply));
    co_await w.send(std::move(res_));
    co_return;
  }
  std::string method(mv->as_string());
  json::value id = *idv;
  const json::object& params = params_of(o);
  int code = 0;
  std::string message;
  json::value data;
  try {
    auto rm = mcp::parse_request_meta(params);
    if (auto mismatch = check_modern_headers(req, method, params, rm.version); !mismatch.empty()) {
      code = mcp::jsonrpc::header_mismatch;
      message = "Header mismatch: " + mismatch;
    } else {
      mcp::check_modern_version(rm);
    }
  } catch (const mcp::jsonrpc::ProtocolError& e) {
    code = e.code;
    message = e.message;
    data = e.data;
  }
  if (code != 0) {
    auto res_ = rpc_error(req, bhttp::status::bad_request, code, message, id, data);
    co_await w.send(std::move(res_));
    co_return;
  }
  if (!stateless_data_) stateless_data_ = server_.new_session_data();
  auto session = server_.make_request_session(stateless_data_);
  session->identity = w.identity;
  auto log = std::make_shared<EventLog>(io_.get_executor(), 0, std::string(),
                                        EventLogLimits{.max_bytes = opts_.sse_log_max_bytes});
  auto ticket = log->attach();
  bool sse = !opts_.disable_streaming && wants_sse(o);
  server_.handle(
      session, std::move(msg), [log](json::object m) { log->push(m); }, trace_headers(req));
  if (!sse) {
    std::shared_ptr<HttpSession> none;  // named: g++ 12
    std::string no_session;
    co_await reply_json(log, ticket, req, w, no_session, none);
    co_return;
  }
  // Closing the response stream is how a 2026-07-28 client cancels.
  std::shared_ptr<HttpSession> none;  // named: g++ 12
  bool finished = co_await stream_events(log, ticket, 0, req, w, true, false, none);
  if (!finished) session->cancel_all();
}

asio::awaitable<void> McpEndpoint::reply_json(std::shared_ptr<EventLog> log, std::uint64_t ticket, Request& req,
                                              Writer& w, const std::string& session_id,
                                              std::shared_ptr<HttpSession> hs) {
  {
    auto wake = log->changed();
    Deadline deadline(io_.get_executor(), 30min, [wake] { wake->notify(); });  // tools time out sooner
    while (!log->finished() && !deadline.passed()) co_await wake->wait();
  }
  log->detach(ticket);
  // What the request changed (a negotiated version, a selected context) is saved before the
  // client can send its next request, which may reach another replica.
  if (hs && log->has_response()) co_await publish(hs);
  bool stateless = session_id.empty();
  if (log->end() == EventLog::End::cancelled) {
    // The spec sends no response to a cancelled request; 202 is Streamable HTTP's "nothing
    // to return" (the client gave up on the request already).
    auto res_ = make_response(req, bhttp::status::accepted, "", "");
    co_await w.send(std::move(res_));
    co_return;
  }
  if (!log->has_response()) {
    json::value id = nullptr;
    if (!log->request_key().empty()) {
      boost::system::error_code ec;
      id = json::parse(log->request_key(), ec);
    }
    auto res_ =
        log->end() == EventLog::End::session_closed
            ? rpc_error(req, bhttp::status::not_found, mcp::jsonrpc::invalid_request,
                        "Session terminated: the request was cancelled", id)
            : rpc_error(req, bhttp::status::gateway_timeout, mcp::jsonrpc::internal_error, "request timed out", id);
    co_await w.send(std::move(res_));
    co_return;
  }
  auto st =
      stateless && log->error_code() == mcp::jsonrpc::method_not_found ? bhttp::status::not_found : bhttp::status::ok;
  auto res = make_response(req, st, log->response());
  if (!stateless) res.set("Mcp-Session-Id", session_id);
  co_await w.send(std::move(res));
}

asio::awaitable<bool> McpEndpoint::stream_events(std::shared_ptr<EventLog> log, std::uint64_t ticket,
                                                 std::uint64_t after, Request& req, Writer& w, bool fresh,
                                                 bool resumable, std::shared_ptr<HttpSession> hs) {
  bool complete = false, client_gone = false;
  auto hdr = make_response(req, bhttp::status::ok, "", "");
  bool started = co_await w.start_sse(std::move(hdr));  // named: see docs/architecture.md (g++ 12)
  // Priming event (id + empty data) and a retry hint, so a client that loses the stream
  // knows it can resume with Last-Event-ID.
  if (started && fresh && resumable) {
    auto priming = fmt::format("id: {}_0\nretry: 1000\ndata: \n\n", log->number());
    bool primed = co_await w.sse(std::move(priming));
    client_gone = !primed;
  }
  if (started && !client_gone) {
    std::uint64_t sent = after;
    auto wake = log->changed();
    Deadline deadline(io_.get_executor(), 30min, [wake] { wake->notify(); });
    // Ends at the response, when the request is cancelled or its session deleted, when a newer
    // reader (a resume GET) takes the stream over, or at the deadline.
    while (log->is_reader(ticket) && !client_gone) {
      auto ev = log->next_after(sent);
      if (ev && hs && log->finished() && !log->next_after(ev->first)) co_await publish(hs);  // see reply_json
      if (ev) {
        auto chunk = resumable ? sse_event(log->number(), ev->first, ev->second)
                               : fmt::format("event: message\ndata: {}\n\n", ev->second);
        bool delivered = co_await w.sse(std::move(chunk));
        client_gone = !delivered;  // the log keeps the rest
        if (delivered) sent = ev->first;
        continue;
      }
      if (log->finished() || deadline.passed()) break;
      co_await wake->wait();
    }
    complete = !client_gone && log->is_reader(ticket) && log->has_response() && !log->next_after(sent);
  }
  log->detach(ticket);
  if (log->finished() && !log->has_reader()) park(log);
  if (started && !client_gone) co_await w.end_sse();
  co_return complete;
}

// The session a non-initialize request names; answers 400 (no header) or 404 (unknown or
// expired: the client must initialize again) itself and returns null then.
asio::awaitable<std::shared_ptr<McpEndpoint::HttpSession>> McpEndpoint::require_session(Request& req, Writer& w) {
  auto sid = header(req, "Mcp-Session-Id");
  std::shared_ptr<HttpSession> hs = sid.empty() ? nullptr : find(sid);
  if (shared_ && !sid.empty()) {
    // Every request reads the record: a DELETE or a change on another replica counts at once.
    bool store_failed = false;
    hs = nullptr;
    if (sid.size() <= 128) {  // ours are 32 hex digits; nothing longer is worth a lookup
      try {
        hs = co_await adopt(sid, w);
      } catch (const std::exception& e) {
        log::warn("shared MCP sessions: {}", e.what());
        store_failed = true;
      }
    }
    if (store_failed) {
      auto res_ = rpc_error(req, bhttp::status::service_unavailable, mcp::jsonrpc::internal_error,
                            "session store unavailable; try again later");
      co_await w.send(std::move(res_));
      co_return nullptr;
    }
  }
  // Another user's session is answered as unknown: its id reveals nothing and reaches nothing.
  if (hs && hs->owner != w.identity.subject) {
    log::warn("oauth audit: session {} requested by subject={}, not its owner", sid.substr(0, 8), w.identity.subject);
    hs = nullptr;
  }
  if (hs) {
    hs->mcp->identity = w.identity;  // the same user; a renewed upstream token travels along
    co_return hs;
  }
  auto res = sid.empty() ? rpc_error(req, bhttp::status::bad_request, mcp::jsonrpc::invalid_request,
                                     "Bad Request: Mcp-Session-Id header is required")
                         : rpc_error(req, bhttp::status::not_found, mcp::jsonrpc::invalid_request,
                                     "Session not found: initialize a new session");
  co_await w.send(std::move(res));
  co_return nullptr;
}

asio::awaitable<void> McpEndpoint::get(Request& req, Writer& w) {
  auto hs = co_await require_session(req, w);
  if (!hs) co_return;
  auto last = header(req, "Last-Event-ID");
  if (last.empty() || opts_.disable_streaming) {
    // We never send server-initiated messages outside a request, so there is no standalone stream.
    auto res = make_response(req, bhttp::status::method_not_allowed, R"({"error":"no standalone SSE stream"})");
    res.set(bhttp::field::allow, "POST, DELETE");
    co_await w.send(std::move(res));
    co_return;
  }
  std::uint64_t stream = 0, seq = 0;
  auto it = std::sscanf(last.c_str(), "%lu_%lu", &stream, &seq) == 2 ? hs->streams.find(stream) : hs->streams.end();
  if (it == hs->streams.end() || (it->second->finished() && !it->second->has_response())) {
    {
      auto res_ = rpc_error(req, bhttp::status::not_found, mcp::jsonrpc::invalid_request,
                            "Unknown Last-Event-ID (the stream ended or expired)");
      co_await w.send(std::move(res_));
    }
    co_return;
  }
  auto log = it->second;
  hs->used = true;
  // One reader per stream: this GET takes over from the POST or an earlier GET, whose stream
  // ends (the client evidently lost it); so resume GETs per stream are bounded.
  auto ticket = log->attach();
  ++hs->active_requests;
  co_await stream_events(log, ticket, seq, req, w, false, true, hs);
  --hs->active_requests;
  hs->last_seen = std::chrono::steady_clock::now();
}

asio::awaitable<void> McpEndpoint::del(Request& req, Writer& w) {
  auto hs = co_await require_session(req, w);
  if (!hs) co_return;
  if (shared_) {
    bool erased = true;
    try {
      auto key = shared_key(hs->id);
      co_await shared_->erase(std::move(key));
    } catch (const std::exception& e) {
      log::warn("shared MCP sessions: could not delete session {}: {}", hs->id.substr(0, 8), e.what());
      erased = false;
    }
    if (!erased) {  // still alive on other replicas: the client should retry
      auto res_ = rpc_error(req, bhttp::status::service_unavailable, mcp::jsonrpc::internal_error,
                            "session store unavailable; try again later");
      co_await w.send(std::move(res_));
      co_return;
    }
  }
  // Its open POSTs and GETs end now, with the session.
  if (auto it = sessions_.find(hs->id); it != sessions_.end()) drop_session(it);
  {
    auto res_ = make_response(req, bhttp::status::ok, "", "");
    co_await w.send(std::move(res_));
  }
}

}  // namespace mk::transport::http
