#include "pipeline/pipeline.hpp"

#include "federation/federation.hpp"
#include "instrumentation/metrics.hpp"
#include "output/redact.hpp"
#include "pipeline/arg_rules.hpp"
#include "pipeline/fleet.hpp"
#include "util/blocking.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/signal.hpp"
#include "util/text.hpp"

#include <fmt/core.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serializer.hpp>

#include <set>

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

// Appends "(cluster <name>, <identity>)" to a workload cluster's error.
std::string on_cluster(Env& env, const std::string& cluster, const Identity& who) {
  return fmt::format("(cluster {}, {})", cluster, env.federation()->describe(who));
}

// Runs the handler on one workload cluster; its errors name the cluster and the identity.
boost::asio::awaitable<mcp::ToolResult> on_workload(Env& env, const Handler& handler, Call& call,
                                                    federation::ClusterInfo info) {
  auto* fed = env.federation();
  // The hop to a workload cluster is a span of its own: the client's set-up (Secret or CA read,
  // cache hit or miss) and then the cluster's API requests as its children.
  auto hop = trace::start_child("federation " + info.name, trace::SpanKind::internal, call.span_context());
  if (hop.recording()) {
    hop.set("k8s.cluster.name", info.name);
    hop.set("capi.cluster.namespace", info.ns);
    hop.set("federation.auth_mode", fed->mode_name());
    call.set_trace(hop.context());
  }
  auto client = co_await fed->client(info, call.identity());  // its errors name cluster and identity
  call.set_workload(info.name, std::move(client));
  mcp::ToolResult r;
  std::exception_ptr err;
  try {
    r = co_await handler(env, call);
  } catch (const Error&) {
    err = std::current_exception();
  }
  if (err) {
    try {
      std::rethrow_exception(err);
    } catch (const Error& e) {
      fail(e.code(), fmt::format("{} {}", e.what(), on_cluster(env, info.name, call.identity())));
    }
  }
  if (r.is_error) r.text += " " + on_cluster(env, info.name, call.identity());
  co_return r;
}

// What one cluster of a fleet call produced.
struct FleetSlot {
  federation::ClusterInfo info;
  ClusterOutcome out;
  bool started = false, done = false, timed_out = false;
  boost::asio::cancellation_signal cancel;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

struct FleetState {
  explicit FleetState(boost::asio::any_io_executor ex) : wake(std::move(ex)) {}
  std::vector<std::unique_ptr<FleetSlot>> slots;
  std::size_t running = 0, finished = 0;
  bool dirty = false;  // a child finished since the loop last looked (it may finish inside co_spawn)
  Signal wake;
};

boost::asio::awaitable<void> fleet_one(Env& env, const Handler& handler, mcp::CallContext& mc, std::string context,
                                       Identity who, trace::SpanContext span, FleetSlot& slot) {
  Call call(mc, env, std::move(context), std::move(who));
  call.set_trace(std::move(span));
  auto r = co_await on_workload(env, handler, call, slot.info);
  if (r.is_error) {
    slot.out.ok = false;
    slot.out.text = std::move(r.text);
    co_return;
  }
  // Redaction at the depth the tool's own answer has; the caps apply to the whole answer later.
  r = finish_result(env.settings(), std::move(r));
  slot.out.ok = !r.is_error;
  slot.out.text = std::move(r.text);
  slot.out.result = std::move(r.structured);
}

std::string describe_exception(std::exception_ptr e, const FleetSlot& slot, std::chrono::milliseconds timeout) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& x) {
    return fmt::format("{}: {}", to_string(x.code()), x.what());
  } catch (const boost::system::system_error& x) {
    if (slot.timed_out)
      return fmt::format("Timeout: no answer within {} s (--fleet-cluster-timeout)", timeout.count() / 1000.0);
    if (x.code() == boost::asio::error::operation_aborted) return "Cancelled: the call was cancelled";
    return fmt::format("Unavailable: {}", x.what());
  } catch (const std::exception& x) {
    return fmt::format("Internal: {}", x.what());
  }
}

// The fleet call: the handler once per cluster, at most --fleet-max-concurrency at a time, each
// cut at --fleet-cluster-timeout. Every child is finished (or cancelled and finished) before
// this returns: they use this call's CallContext.
boost::asio::awaitable<mcp::ToolResult> run_fleet(Env& env, const Handler& handler, mcp::CallContext& mc,
                                                  const std::string& context, const Identity& who,
                                                  const trace::SpanContext& span, ClusterTarget target) {
  auto* fed = env.federation();
  auto ex = co_await boost::asio::this_coro::executor;
  std::vector<federation::ClusterInfo> chosen;
  std::vector<ClusterOutcome> missing;
  if (target.kind == ClusterTarget::Kind::list) {
    // Each name among the clusters `who` may see: a hidden one is "not found", like a missing
    // one. The names share one call's budget of access reviews.
    auto budget = std::make_shared<federation::AccessBudget>();
    for (auto& ref : target.names) {
      std::string why;
      try {
        std::string n = ref.name, ns = ref.ns;  // named: no temporaries inside co_await (g++ 12)
        auto info = co_await fed->find(std::move(n), std::move(ns), who, budget);
        chosen.push_back(std::move(info));
      } catch (const Error& e) {
        why = fmt::format("{}: {}", to_string(e.code()), e.what());
      }
      if (!why.empty()) missing.push_back({.cluster = ref.name, .ns = ref.ns, .ok = false, .result = {}, .text = why});
    }
  } else {
    std::string sel = target.kind == ClusterTarget::Kind::selector ? target.selector : std::string();
    chosen = co_await fed->list(std::move(sel), who);
  }
  auto st = std::make_shared<FleetState>(ex);
  for (auto& c : chosen) {
    auto s = std::make_unique<FleetSlot>();
    s->out.cluster = c.name;
    s->out.ns = c.ns;
    s->info = std::move(c);
    st->slots.push_back(std::move(s));
  }
  const auto max = std::max<std::size_t>(1, env.settings().fleet_max_concurrency);
  const auto timeout = env.settings().fleet_cluster_timeout;
  co_await boost::asio::this_coro::throw_if_cancelled(false);  // children must be awaited even when cancelled
  std::size_t next = 0;
  bool cancelled = false;
  while (st->finished < st->slots.size()) {
    while (!cancelled && st->running < max && next < st->slots.size()) {
      auto* slot = st->slots[next++].get();
      slot->started = true;
      ++st->running;
      slot->timer = std::make_unique<boost::asio::steady_timer>(ex, timeout);
      slot->timer->async_wait([st, slot](boost::system::error_code ec) {
        if (ec || slot->done) return;
        slot->timed_out = true;
        slot->cancel.emit(boost::asio::cancellation_type::terminal);
      });
      auto child = fleet_one(env, handler, mc, context, who, span, *slot);
      boost::asio::co_spawn(
          ex, std::move(child),
          boost::asio::bind_cancellation_slot(slot->cancel.slot(), [st, slot, timeout](std::exception_ptr e) {
            slot->done = true;
            if (slot->timer) slot->timer->cancel();
            if (e) {
              slot->out.ok = false;
              slot->out.text = describe_exception(e, *slot, timeout);
            }
            --st->running;
            ++st->finished;
            st->dirty = true;
            st->wake.notify();
          }));
    }
    if (cancelled && st->running == 0) break;
    if (!st->dirty) co_await st->wake.wait();
    st->dirty = false;
    auto cs = co_await boost::asio::this_coro::cancellation_state;
    if (!cancelled && cs.cancelled() != boost::asio::cancellation_type::none) {
      cancelled = true;
      for (auto& s : st->slots)
        if (s->started && !s->done) s->cancel.emit(boost::asio::cancellation_type::terminal);
    }
  }
  co_await boost::asio::this_coro::throw_if_cancelled(true);
  if (cancelled) throw boost::system::system_error(boost::asio::error::operation_aborted);
  std::vector<ClusterOutcome> outcomes = std::move(missing);
  for (auto& s : st->slots) outcomes.push_back(std::move(s->out));
  auto r = merge_fleet(outcomes);
  std::size_t ok = 0;
  for (auto& o : outcomes) ok += o.ok;
  const char* outcome = ok == outcomes.size() ? "ok" : ok == 0 ? "failed" : "partial";
  metrics::Registry::global().inc("mcp_kubernetes_fleet_calls_total", {{"outcome", outcome}});
  co_return r;
}

boost::asio::awaitable<mcp::ToolResult> run_steps(Env& env, Limiter& limiter, std::string_view verb,
                                                  const std::vector<std::string>& free_text, const Handler& handler,
                                                  mcp::CallContext& mc, trace::Span& span) {
  ClusterTarget target;
  if (env.federation()) {
    target = cluster_target(mc.args());
    // "*" is not a name; the rest of the cluster arguments were checked by cluster_target.
    auto except = free_text;
    except.push_back("cluster");
    check_arguments(mc.args(), except);  // 1
  } else {
    check_arguments(mc.args(), free_text);  // 1
  }
  env.policy().check_operation(verb);  // 2
  if (target.fleet() && !is_read_operation(verb))
    fail(Errc::policy_denied, "fleet-wide calls are read-only; name one cluster for this tool");
  auto slot = limiter.acquire(&mc.session());                  // 3
  Call call(mc, env, context_for(env, mc), identity_for(mc));  // 4
  call.set_trace(span.context());
  if (span.recording()) {
    span.set("k8s.cluster.name", call.context());
    if (call.identity().authenticated()) span.set("enduser.id", call.identity().subject);
  }
  if (target.kind != ClusterTarget::Kind::management) mc.set_scope("workload");
  mcp::ToolResult r;
  if (target.fleet()) {
    r = co_await run_fleet(env, handler, mc, call.context(), call.identity(), call.span_context(), std::move(target));
  } else if (target.kind == ClusterTarget::Kind::one) {
    auto info =
        co_await env.federation()->find(std::move(target.one_ref.name), std::move(target.one_ref.ns), call.identity());
    r = co_await on_workload(env, handler, call, std::move(info));  // 5
  } else {
    r = co_await handler(env, call);  // 5
  }
  // 6: a big result is walked (redaction) and measured off the I/O thread.
  if (r.text.size() < kOffloadResultBytes) co_return finish_result(env.settings(), std::move(r));
  auto job = [rp = &r, sp = &env.settings()] { return finish_result(*sp, std::move(*rp)); };
  co_return co_await offload(std::move(job));
}

boost::asio::awaitable<mcp::ToolResult> run(Env& env, std::shared_ptr<Limiter> limiter, std::string_view verb,
                                            std::vector<std::string> free_text, Handler handler, mcp::CallContext& mc) {
  auto span = start_call_span(mc);
  // The audit line: every call that changes something (info), the rest at debug. Who (the OAuth
  // subject, or "local"), what, where, the outcome, and the trace id when traced. Arguments that
  // reach it passed the argument checks (path-safe names), and are quoted all the same.
  bool writes = !is_read_operation(verb);
  auto audit = [&](std::string_view outcome) {
    if (!writes && !log::enabled(log::Level::debug)) return;
    const auto& a = mc.args();
    auto arg = [&](const char* k) -> std::string {
      auto* v = a.if_contains(k);
      return v && v->is_string() ? boost::json::serialize(boost::json::value(v->as_string())) : std::string("-");
    };
    const auto& who = mc.session().identity.subject;
    auto trace_part = span.recording() ? trace::log_fields(span.context()) : std::string();
    auto line = fmt::format("audit: tools/call {} {} user={} cluster={} context={} namespace={} name={}{}", mc.tool(),
                            outcome, who.empty() ? "local" : boost::json::serialize(boost::json::value(who)),
                            arg("cluster"), arg("context"), arg("namespace"), arg("name"), trace_part);
    if (writes) log::info("{}", line);
    else log::debug("{}", line);
  };
  if (!span.recording()) {
    try {
      auto r = co_await run_steps(env, *limiter, verb, free_text, handler, mc, span);
      audit(r.is_error ? "error" : "success");
      co_return r;
    } catch (const boost::system::system_error& e) {
      audit(e.code() == boost::asio::error::operation_aborted ? "cancelled" : "error");
      throw;
    } catch (const std::exception&) {
      audit("error");
      throw;
    }
  }
  auto note = [&](std::string_view outcome) { audit(outcome); };
  try {
    auto r = co_await run_steps(env, *limiter, verb, free_text, handler, mc, span);
    if (r.is_error) {
      // "Code: message": semconv's tool_error, with the message as the status.
      span.set("error.type", "tool_error");
      span.set_status(trace::Status::error, utf8_prefix(r.text, 256));
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

mcp::RequestFinish start_request_span(const mcp::Session& s, std::string_view method, const boost::json::value& id,
                                      const boost::json::object& params, const mcp::TraceCarrier& transport) {
  auto tracer = trace::global();
  if (!tracer) return {};
  std::string tp, ts;
  if (auto* m = params.if_contains("_meta"); m && m->is_object()) {
    auto text = [&](const char* k) {
      auto* v = m->as_object().if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    tp = text("traceparent");
    ts = text("tracestate");
  }
  auto ex = trace::extract(tp, ts, transport.traceparent, transport.tracestate);
  std::vector<trace::Link> links;
  if (ex.link) links.push_back({*ex.link});
  // Shared: the finish function may be copied by the caller; the span ends once.
  // Span names from a fixed set: the method comes from the caller, and a collector keeps an index
  // of every operation name it sees.
  static const std::set<std::string_view, std::less<>> known{"initialize",
                                                             "ping",
                                                             "tools/list",
                                                             "logging/setLevel",
                                                             "resources/list",
                                                             "resources/read",
                                                             "prompts/list",
                                                             "prompts/get",
                                                             "resources/templates/list",
                                                             "server/discover",
                                                             "completion/complete",
                                                             "resources/subscribe",
                                                             "resources/unsubscribe"};
  bool is_known = known.contains(method);
  auto span = std::make_shared<trace::Span>(
      tracer->start(is_known ? std::string(method) : std::string("unknown method"), trace::SpanKind::server,
                    ex.parent ? &*ex.parent : nullptr, std::move(links)));
  if (!span->recording()) return {};
  span->set("mcp.method.name", utf8_prefix(method, 128));
  span->set("jsonrpc.request.id", id.is_string() ? std::string(id.as_string()) : boost::json::serialize(id));
  if (!s.id.empty()) span->set("mcp.session.id", std::string_view(s.id).substr(0, 8));
  if (!s.protocol_version.empty()) span->set("mcp.protocol.version", s.protocol_version);
  if (s.identity.authenticated()) span->set("enduser.id", s.identity.subject);
  return [span](std::string_view outcome) {
    if (outcome != "success") {
      span->set("error.type", "protocol_error");
      span->set_status(trace::Status::error, outcome);
    }
    span->end();
  };
}

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
  if (env_.federation() && spec.input_schema.contains("properties") &&
      spec.input_schema.at("properties").as_object().contains("context")) {
    // A Kubernetes tool: it can run on a workload cluster; the read tools on several at once.
    bool fleet = is_read_operation(spec.verb);
    add_cluster_arguments(spec.input_schema, fleet);
    if (fleet && !spec.output_schema.empty()) spec.output_schema = fleet_output_schema(std::move(spec.output_schema));
  }
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
