#include "pipeline/pipeline.hpp"

#include "output/redact.hpp"
#include "pipeline/arg_rules.hpp"
#include "util/blocking.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/json/serializer.hpp>

namespace mk::pipeline {
namespace json = boost::json;

SessionState& Call::session() const {
  auto* s = mcp_.session().get<SessionState>();
  if (!s) fail(Errc::internal, "this MCP session has no application state");
  return *s;
}

bool Call::dry_run() const {
  if (env_.policy().dry_run()) return true;
  auto* v = args().if_contains("dryRun");
  return v && v->is_bool() && v->as_bool();
}

Limiter::Slot Limiter::acquire(const void* session) {
  if (total_in_flight_ >= total_)
    fail(Errc::too_many_requests,
         fmt::format("the server is running {} tool calls, its limit (--max-concurrent-calls); retry shortly",
                     total_in_flight_));
  auto& n = by_session_[session];
  if (n >= per_session_) {
    fail(Errc::too_many_requests,
         fmt::format("this session already has {} tool calls in flight, its limit (--max-session-concurrent-calls); "
                     "wait for one to finish",
                     n));
  }
  ++n;
  ++total_in_flight_;
  return Slot(this, session);
}

void Limiter::release(const void* session) {
  --total_in_flight_;
  if (auto it = by_session_.find(session); it != by_session_.end() && --it->second == 0) by_session_.erase(it);
}

std::size_t serialized_size_upto(const json::value& v, std::size_t cap) {
  json::serializer sr;
  sr.reset(&v);
  char buf[16 * 1024];
  std::size_t n = 0;
  while (!sr.done() && n <= cap) n += sr.read(buf, sizeof buf).size();
  return n;
}

mcp::ToolResult finish_result(const Settings& s, mcp::ToolResult r) {
  if (r.is_error) return r;
  // Tools redact what they render; this pass makes sure no path forgets the structured copy.
  if (!s.show_secret_values && !r.structured.is_null()) {
    output::redact_secrets(r.structured);
    // Tools wrap objects ({"resource": ...}, {"items": [...]}, {"results": [...]}): one level down too.
    if (r.structured.is_object())
      for (auto& [k, v] : r.structured.as_object()) {
        output::redact_secrets(v);
        if (v.is_array())
          for (auto& x : v.as_array()) output::redact_secrets(x);
      }
  }
  if (r.text.size() > s.max_response_bytes)
    return {{},
            fmt::format("TooLarge: the result is {} bytes of text, over this server's {} byte limit "
                        "(--max-response-bytes); narrow the query (namespace, labelSelector, fieldSelector, limit, "
                        "a shorter time range)",
                        r.text.size(), s.max_response_bytes),
            true};
  if (!r.structured.is_null()) {
    auto n = serialized_size_upto(r.structured, s.max_structured_bytes);
    if (n > s.max_structured_bytes)
      return {{},
              fmt::format("TooLarge: the structured result is over this server's {} byte limit "
                          "(--max-structured-bytes); narrow the query (namespace, labelSelector, fieldSelector, "
                          "limit)",
                          s.max_structured_bytes),
              true};
  }
  return r;
}

namespace {

// Results with this much text (their structuredContent is usually of the same size) are
// finished on the compute pool: other sessions' requests keep being answered meanwhile.
constexpr std::size_t kOffloadResultBytes = 64 * 1024;

// The context a call runs against: its `context` argument, else the session's, else the default.
std::string context_for(Env& env, const mcp::CallContext& c) {
  if (auto* v = c.args().if_contains("context"); v && v->is_string() && !v->as_string().empty()) {
    std::string name(v->as_string());
    if (!env.clusters().has_context(name))
      fail(Errc::not_found, fmt::format("context \"{}\" not found; k8s_list_contexts shows the available ones", name));
    return name;
  }
  if (auto* ks = c.session().get<SessionState>(); ks && !ks->context.empty()) return ks->context;
  return env.clusters().default_context();
}

// Set by the HTTP transport on the session (the 2025-era session's owner, or the stateless
// request's caller); empty without OAuth.
Identity identity_for(const mcp::CallContext& c) { return c.session().identity; }

boost::asio::awaitable<mcp::ToolResult> run_steps(Env& env, Limiter& limiter, std::string_view verb,
                                                  const std::vector<std::string>& free_text, const Handler& handler,
                                                  mcp::CallContext& mc, trace::Span& span) {
  check_arguments(mc.args(), free_text);                       // 1
  env.policy().check_operation(verb);                          // 2
  auto slot = limiter.acquire(&mc.session());                  // 3
  Call call(mc, env, context_for(env, mc), identity_for(mc));  // 4
  call.set_trace(span.context());
  if (span.recording()) {
    span.set("k8s.cluster.name", call.context());
    if (call.identity().authenticated()) span.set("enduser.id", call.identity().subject);
  }
  auto r = co_await handler(env, call);  // 5
  // 6: a big result is walked (redaction) and measured off the I/O thread.
  if (r.text.size() < kOffloadResultBytes) co_return finish_result(env.settings(), std::move(r));
  auto job = [rp = &r, sp = &env.settings()] { return finish_result(*sp, std::move(*rp)); };
  co_return co_await offload(std::move(job));
}

boost::asio::awaitable<mcp::ToolResult> run(Env& env, std::shared_ptr<Limiter> limiter, std::string_view verb,
                                            std::vector<std::string> free_text, Handler handler, mcp::CallContext& mc) {
  auto span = start_call_span(mc);
  if (!span.recording()) co_return co_await run_steps(env, *limiter, verb, free_text, handler, mc, span);
  // The trace id in the server's log for this call (debug: one line per call).
  auto note = [&](std::string_view outcome) {
    log::debug("tools/call {}: {} trace_id={} span_id={}", mc.tool(), outcome, trace::to_hex(span.context().trace_id),
               trace::to_hex(span.context().span_id));
  };
  try {
    auto r = co_await run_steps(env, *limiter, verb, free_text, handler, mc, span);
    if (r.is_error) {
      // "Code: message": semconv's tool_error, with the message as the status.
      span.set("error.type", "tool_error");
      span.set_status(trace::Status::error, std::string_view(r.text).substr(0, 256));
    }
    span.set("mcp.tool.outcome", r.is_error ? "error" : "success");
    note(r.is_error ? "error" : "success");
    co_return r;
  } catch (const Error& e) {
    span.set("error.type", to_string(e.code()));
    span.set("mcp.tool.outcome", "error");
    span.set_status(trace::Status::error, e.what());
    note("error");
    throw;
  } catch (const boost::system::system_error& e) {
    bool aborted = e.code() == boost::asio::error::operation_aborted;  // cancelled, or the tool's timeout
    span.set("error.type", aborted ? "cancelled" : "unavailable");
    span.set("mcp.tool.outcome", aborted ? "cancelled" : "error");
    span.set_status(trace::Status::error, e.what());
    note(aborted ? "cancelled" : "error");
    throw;
  } catch (const std::exception& e) {
    span.set("error.type", "internal");
    span.set("mcp.tool.outcome", "error");
    span.set_status(trace::Status::error, e.what());
    note("error");
    throw;
  }
}

}  // namespace

trace::Span start_call_span(const mcp::CallContext& mc) {
  auto tracer = trace::global();
  if (!tracer) return {};
  auto& o = mc.origin();
  auto ex = trace::extract(o.meta.traceparent, o.meta.tracestate, o.transport.traceparent, o.transport.tracestate);
  std::vector<trace::Link> links;
  if (ex.link) links.push_back({*ex.link});
  auto span = tracer->start("tools/call " + mc.tool(), trace::SpanKind::server, ex.parent ? &*ex.parent : nullptr,
                            std::move(links));
  if (!span.recording()) return span;
  span.set("mcp.method.name", "tools/call");
  span.set("gen_ai.operation.name", "execute_tool");
  span.set("gen_ai.tool.name", mc.tool());
  if (!o.request_id.empty()) span.set("jsonrpc.request.id", o.request_id);
  auto& s = mc.session();
  // The first 8 characters only, as in the server's logs: over HTTP without OAuth the whole
  // id is what lets a client use the session.
  if (!s.id.empty()) span.set("mcp.session.id", std::string_view(s.id).substr(0, 8));
  if (mc.stateless()) span.set("mcp.protocol.version", mcp::kModernVersion);
  else if (!s.protocol_version.empty()) span.set("mcp.protocol.version", s.protocol_version);
  if (auto* ns = mc.args().if_contains("namespace"); ns && ns->is_string())
    span.set("k8s.namespace.name", std::string_view(ns->as_string()));
  return span;
}

Registrar::Registrar(mcp::Server& server, Env& env)
    : server_(server), env_(env),
      limiter_(std::make_shared<Limiter>(env.settings().max_calls_per_session, env.settings().max_calls_total)) {}

bool Registrar::add(ToolSpec spec) {
  if (spec.verb.empty() || !spec.handler) fail(Errc::internal, fmt::format("tool {} declares no verb", spec.name));
  if (!env_.policy().operation_allowed(spec.verb)) return false;
  mcp::Tool t{.name = std::move(spec.name),
              .title = std::move(spec.title),
              .description = std::move(spec.description),
              .input_schema = std::move(spec.input_schema),
              .output_schema = std::move(spec.output_schema),
              .annotations = spec.annotations,
              .timeout = spec.timeout,
              .handler = {}};
  t.handler = [&env = env_, limiter = limiter_, verb = spec.verb, free = std::move(spec.free_text_args),
               h = std::move(spec.handler)](mcp::CallContext& c) { return run(env, limiter, verb, free, h, c); };
  server_.add_tool(std::move(t));
  return true;
}

}  // namespace mk::pipeline
