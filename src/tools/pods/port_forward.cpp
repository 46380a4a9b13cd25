// k8s_port_forward_pod / _service and the session tools: list, stop one, stop all. Forwards
// belong to the MCP session that made them (SessionState::resource) and end with it; those of
// stateless requests are reached by their id only and end when idle (forward_registry.hpp).
// They listen on loopback unless the operator allows an address (forward_address.hpp).
#include "k8s/portforward.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/pods/forward_address.hpp"
#include "tools/pods/forward_registry.hpp"
#include "tools/pods/pod_common.hpp"
#include "tools/pods/pod_tools.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <boost/asio/this_coro.hpp>

namespace mk::tools {
namespace json = boost::json;
namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxForwardsPerSession = 16;
constexpr std::size_t kMaxIdsPerCall = 100;

class PortForwardHandle : public Forwarding {
 public:
  explicit PortForwardHandle(std::shared_ptr<k8s::PortForward> f) : f_(std::move(f)) {}
  void stop() override { f_->stop(); }
  std::uint64_t activity() const override { return f_->activity(); }
  json::object info() const override { return f_->info(); }

 private:
  std::shared_ptr<k8s::PortForward> f_;
};

std::shared_ptr<ForwardRegistry> registry_ptr(Env& env, const Call& c, asio::any_io_executor ex) {
  auto& cfg = env.settings();
  ForwardLimits limits{.max_session = kMaxForwardsPerSession,
                       .max_capability = cfg.port_forward_max_stateless,
                       .idle_timeout = cfg.port_forward_idle_timeout};
  return c.session().resource<ForwardRegistry>(std::move(ex), limits);
}

// A stateless (2026-07-28) request holds no session: the forward id is its only claim.
ForwardCaller caller_of(const Call& c) {
  // OAuth: only the user who started a forward sees, uses or stops it.
  return ForwardCaller{c.stateless() ? ForwardScope::capability : ForwardScope::session, c.identity().subject};
}

std::vector<std::string> ids_arg(const json::object& a) {
  std::vector<std::string> ids;
  auto* v = a.if_contains("ids");
  if (!v || !v->is_array()) return ids;
  if (v->as_array().size() > kMaxIdsPerCall)
    fail(Errc::invalid_argument, fmt::format("at most {} ids per call", kMaxIdsPerCall));
  for (auto& e : v->as_array())
    if (e.is_string()) ids.emplace_back(e.as_string());
  return ids;
}

json::object record_info(const ForwardRecord& r, const ForwardLimits& limits) {
  auto info = r.forward->info();
  info["id"] = r.id;
  if (r.scope == ForwardScope::capability)
    info["idleTimeoutSeconds"] = std::chrono::duration_cast<std::chrono::seconds>(limits.idle_timeout).count();
  return info;
}

const json::object* obj(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->as_object() : nullptr;
}
const json::array* arr(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_array() ? &v->as_array() : nullptr;
}
std::string s(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool pod_ready(const json::object& pod) {
  if (auto* md = obj(pod, "metadata"); md && md->contains("deletionTimestamp")) return false;
  auto* st = obj(pod, "status");
  if (!st || s(*st, "phase") != "Running") return false;
  if (auto* cs = arr(*st, "conditions"))
    for (auto& c : *cs)
      if (c.is_object() && s(c.as_object(), "type") == "Ready") return s(c.as_object(), "status") == "True";
  return false;
}

// A named targetPort resolved through the pod's container ports, as kube-proxy does.
std::optional<int> named_container_port(const json::object& pod, const std::string& name) {
  auto* spec = obj(pod, "spec");
  if (!spec) return std::nullopt;
  if (auto* cs = arr(*spec, "containers"))
    for (auto& c : *cs)
      if (c.is_object())
        if (auto* ports = arr(c.as_object(), "ports"))
          for (auto& p : *ports)
            if (p.is_object() && s(p.as_object(), "name") == name)
              if (auto* n = p.as_object().if_contains("containerPort"); n && n->is_int64())
                return static_cast<int>(n->as_int64());
  return std::nullopt;
}

std::string render(const json::object& f) {
  std::string t = fmt::format("{}: {}:{} -> ", json::value_to<std::string>(f.at("id")),
                              json::value_to<std::string>(f.at("localAddress")), f.at("localPort").as_int64());
  if (auto* svc = f.if_contains("service")) t += fmt::format("service {} via ", json::value_to<std::string>(*svc));
  t += fmt::format("pod {}/{}:{}", json::value_to<std::string>(f.at("namespace")),
                   json::value_to<std::string>(f.at("pod")), f.at("remotePort").as_int64());
  return t;
}

// Where to listen: the operator decides which addresses a caller may name. Checked before any
// API call.
void set_listen(const Env& env, const Call& c, k8s::ForwardSpec& spec) {
  auto allowed = parse_allowed_addresses(env.settings().port_forward_allowed_addresses);
  spec.address = checked_forward_address(str(c.args(), "address", "127.0.0.1"), allowed).to_string();
  auto local_port = opt_int(c.args(), "localPort").value_or(0);
  check_forward_local_port(local_port);
  spec.local_port = static_cast<int>(local_port);
}

asio::awaitable<mcp::ToolResult> start_forward(Env& env, Call& c, PodRef ref, k8s::ForwardSpec spec) {
  // Shared: if the session ends while we wait for the API server, the registry (and with it
  // the new forward) is closed when this call drops the last reference.
  auto ex = co_await asio::this_coro::executor;
  auto reg_ptr = registry_ptr(env, c, ex);
  auto& reg = *reg_ptr;
  auto caller = caller_of(c);
  reg.check_capacity(caller.scope);
  spec.context = ref.context;
  spec.ns = ref.ns;
  auto id = reg.new_id(caller.scope);
  auto f = co_await k8s::PortForward::start(ref.client, spec, id);
  // The session may have ended (or hit the cap) while we waited for the API server.
  try {
    reg.add(caller, id, std::make_shared<PortForwardHandle>(f));
  } catch (...) {
    f->stop();
    throw;
  }
  auto info = f->info();
  std::string text = "started " + render(info);
  if (auto a = parse_forward_address(spec.address); a && !a->is_loopback())
    text += fmt::format("\nnote: listening on {}, reachable from other hosts", spec.address);
  if (caller.scope == ForwardScope::capability) {
    auto idle = std::chrono::duration_cast<std::chrono::seconds>(reg.limits().idle_timeout).count();
    info["idleTimeoutSeconds"] = idle;
    text += fmt::format(
        "\nstateless request: keep the id; only it lists (ids) or stops this forward, which ends after {} s "
        "without use",
        idle);
  }
  co_return mcp::ToolResult{std::move(info), std::move(text)};
}

asio::awaitable<mcp::ToolResult> forward_pod(Env& env, Call& c) {
  k8s::ForwardSpec spec;
  set_listen(env, c, spec);
  auto ref = pod_ref(env, c, str(c.args(), "name"));
  spec.pod = ref.name;
  spec.remote_port = static_cast<int>(opt_int(c.args(), "port").value_or(0));
  co_return co_await start_forward(env, c, ref, spec);
}

asio::awaitable<mcp::ToolResult> forward_service(Env& env, Call& c) {
  auto& a = c.args();
  k8s::ForwardSpec fs;
  set_listen(env, c, fs);
  auto ref = pod_ref(env, c, str(a, "name"));
  auto sv = co_await ref.client->get_json(
      fmt::format("/api/v1/namespaces/{}/services/{}", k8s::url_encode(ref.ns), k8s::url_encode(ref.name)));
  auto& svc = sv.as_object();
  auto* spec = obj(svc, "spec");
  auto* ports = spec ? arr(*spec, "ports") : nullptr;
  if (!ports || ports->empty()) fail(Errc::invalid_argument, fmt::format("service \"{}\" has no ports", ref.name));

  // Pick the service port: by number or name, or the only one.
  std::string want = str(a, "port");
  if (auto n = opt_int(a, "port")) want = std::to_string(*n);
  const json::object* port = nullptr;
  std::vector<std::string> names;
  for (auto& p : *ports) {
    if (!p.is_object()) continue;
    auto& po = p.as_object();
    auto num = po.contains("port") ? std::to_string(po.at("port").as_int64()) : std::string();
    names.push_back(s(po, "name").empty() ? num : fmt::format("{} ({})", s(po, "name"), num));
    if (!want.empty() && (want == num || want == s(po, "name"))) port = &po;
  }
  if (!port && want.empty() && ports->size() == 1) port = &ports->front().as_object();
  if (!port)
    fail(Errc::invalid_argument,
         fmt::format("{}; service \"{}\" ports: {}",
                     want.empty() ? std::string("the service has several ports: name one with `port`")
                                  : fmt::format("service has no port \"{}\"", want),
                     ref.name, fmt::join(names, ", ")));

  auto* sel = obj(*spec, "selector");
  if (!sel || sel->empty())
    fail(Errc::invalid_argument,
         fmt::format("service \"{}\" has no selector, so no pod backs it here; forward to a pod instead", ref.name));
  std::vector<std::string> terms;
  for (auto& [k, v] : *sel)
    if (v.is_string()) terms.push_back(fmt::format("{}={}", std::string_view(k), std::string_view(v.as_string())));
  k8s::Query q{{"labelSelector", fmt::format("{}", fmt::join(terms, ","))}};
  auto pods = co_await ref.client->get_json(fmt::format("/api/v1/namespaces/{}/pods", k8s::url_encode(ref.ns)), q);
  const json::object* chosen = nullptr;
  if (auto* items = arr(pods.as_object(), "items"))
    for (auto& p : *items)
      if (p.is_object() && pod_ready(p.as_object())) {
        chosen = &p.as_object();
        break;
      }
  if (!chosen)
    fail(Errc::unavailable,
         fmt::format("service \"{}\" has no Ready pod (selector {})", ref.name, fmt::join(terms, ",")));

  int target = 0;
  auto* tp = port->if_contains("targetPort");
  if (!tp) target = static_cast<int>(port->at("port").as_int64());
  else if (tp->is_int64()) target = static_cast<int>(tp->as_int64());
  else if (tp->is_string()) {
    auto n = named_container_port(*chosen, std::string(tp->as_string()));
    if (!n)
      fail(Errc::invalid_argument,
           fmt::format("pod \"{}\" has no container port named \"{}\" (the service's targetPort)",
                       s(*obj(*chosen, "metadata"), "name"), std::string_view(tp->as_string())));
    target = *n;
  }
  fs.pod = s(*obj(*chosen, "metadata"), "name");
  fs.remote_port = target;
  fs.service = ref.name;
  PodRef pref = ref;
  pref.name = fs.pod;
  co_return co_await start_forward(env, c, pref, fs);
}

asio::awaitable<mcp::ToolResult> list_forwards(Env& env, Call& c) {
  auto ex = co_await asio::this_coro::executor;
  auto reg = registry_ptr(env, c, ex);
  auto caller = caller_of(c);
  auto ids = ids_arg(c.args());
  json::array items;
  std::string text;
  for (auto* r : reg->visible(caller, ids)) {
    auto info = record_info(*r, reg->limits());
    text += render(info) + fmt::format(" ({} open connections)\n", info.at("activeConnections").as_uint64());
    items.push_back(std::move(info));
  }
  if (text.empty() && caller.scope == ForwardScope::capability && ids.empty())
    text = "a stateless (2026-07-28) request sees only the port-forwards whose ids it passes in `ids`";
  else if (text.empty()) text = ids.empty() ? "no port-forwards in this session" : "none of these port-forwards runs";
  auto n = items.size();
  co_return mcp::ToolResult{json::object{{"sessions", std::move(items)}, {"count", n}}, std::move(text)};
}

asio::awaitable<mcp::ToolResult> stop_forward(Env& env, Call& c) {
  auto id = str(c.args(), "id");
  auto ex = co_await asio::this_coro::executor;
  auto reg = registry_ptr(env, c, ex);
  auto caller = caller_of(c);
  if (!reg->stop(caller, id)) {
    auto shown = fmt::format("\"{}\"", id.substr(0, 100));
    // Never name other forwards to a stateless caller: their ids are what guards them.
    if (caller.scope == ForwardScope::capability)
      fail(Errc::not_found,
           fmt::format("no port-forward {} (stateless requests reach a forward by the id its start returned; "
                       "unused ones end after {} s)",
                       shown, std::chrono::duration_cast<std::chrono::seconds>(reg->limits().idle_timeout).count()));
    std::vector<std::string> ids;
    for (auto* r : reg->visible(caller)) ids.push_back(r->id);
    fail(Errc::not_found,
         fmt::format("no port-forward {} in this session{}", shown,
                     ids.empty() ? std::string(" (it has none)") : fmt::format("; active: {}", fmt::join(ids, ", "))));
  }
  co_return mcp::ToolResult{json::object{{"stopped", id}}, "stopped " + id};
}

asio::awaitable<mcp::ToolResult> stop_all(Env& env, Call& c) {
  auto ex = co_await asio::this_coro::executor;
  auto reg = registry_ptr(env, c, ex);
  auto caller = caller_of(c);
  auto ids = ids_arg(c.args());
  if (caller.scope == ForwardScope::capability && ids.empty())
    fail(Errc::invalid_argument,
         "a stateless (2026-07-28) request stops only the port-forwards whose ids it passes in `ids`");
  auto n = reg->stop_visible(caller, ids);
  co_return mcp::ToolResult{json::object{{"stopped", n}}, fmt::format("stopped {} port-forward(s)", n)};
}

json::object forward_props(json::object s, bool service) {
  auto& p = s["properties"].as_object();
  p["localPort"] = schema::integer("local port: 0 (default) picks a free one; 1024-65535", 0, 65535);
  p["address"] = schema::string(
      "local IP address to listen on: 127.0.0.1 (default), ::1 or localhost; others only if the server's operator "
      "allows them");
  if (service) {
    auto port = schema::string("service port number or name (default: the only port)");
    port["type"] = json::array{"string", "integer"};
    p["port"] = std::move(port);
  } else p["port"] = schema::integer("pod port to forward to", 1, 65535);
  return s;
}

json::object ids_schema(const char* what) {
  auto s = schema::string_array(
      fmt::format("{} (by id); stateless (2026-07-28) requests reach only forwards they name here, at most {}", what,
                  kMaxIdsPerCall));
  s["maxItems"] = kMaxIdsPerCall;
  return s;
}
}  // namespace

void register_port_forward_tools(Registrar& reg) {
  const mcp::ToolAnnotations writes{.read_only = false, .destructive = true, .idempotent = false, .open_world = true};
  auto info_schema = schema::output({{"id", schema::string("session id for the stop tool")},
                                     {"localPort", schema::integer("the port listening locally")},
                                     {"pod", schema::string("")}},
                                    {"id", "localPort"});
  reg.add({
      .name = "k8s_port_forward_pod",
      .title = "Port-forward to a pod",
      .description = "Listen on a local loopback port (localPort 0 picks one) and forward each connection to a "
                     "pod port through the API server. Runs in the background until stopped or this MCP session "
                     "ends; at most 16 per session. Started by a stateless (2026-07-28) request: only its id "
                     "reaches it, and it ends when unused for a while.",
      .input_schema = schema::with_context(
          forward_props(schema::object({{"name", schema::string("pod name")},
                                        {"namespace", schema::string("namespace (default: the context's namespace)")}},
                                       {"name", "port"}),
                        false)),
      .output_schema = info_schema,
      .annotations = writes,
      .verb = op::port_forward,
      .handler = observed("port-forward", forward_pod),
  });
  reg.add({
      .name = "k8s_port_forward_service",
      .title = "Port-forward to a service",
      .description = "Like k8s_port_forward_pod for a service: resolves the service port's targetPort (named "
                     "ports too) on a Ready pod selected by the service and forwards to it.",
      .input_schema = schema::with_context(
          forward_props(schema::object({{"name", schema::string("service name")},
                                        {"namespace", schema::string("namespace (default: the context's namespace)")}},
                                       {"name"}),
                        true)),
      .output_schema = info_schema,
      .annotations = writes,
      .verb = op::port_forward,
      .handler = observed("port-forward", forward_service),
  });
  reg.add({
      .name = "k8s_list_port_forward_sessions",
      .title = "List port-forwards",
      .description = "The port-forwards this MCP session started, with local port, target and traffic counters. "
                     "A stateless (2026-07-28) request sees only those whose ids it passes.",
      .input_schema = schema::object({{"ids", ids_schema("only these forwards")}}),
      .output_schema =
          schema::output({{"sessions", json::object{{"type", "array"}}}, {"count", schema::integer("")}}, {"sessions"}),
      .annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false},
      .verb = op::port_forward,
      .handler = list_forwards,
  });
  reg.add({
      .name = "k8s_stop_port_forward_session",
      .title = "Stop a port-forward",
      .description = "Stop one of this session's port-forwards by id (closes its listener and connections).",
      .input_schema = schema::object({{"id", schema::string("id from k8s_port_forward_* or the list tool")}}, {"id"}),
      .output_schema = schema::output({{"stopped", schema::string("")}}, {"stopped"}),
      .annotations = {.read_only = false, .destructive = false, .idempotent = true, .open_world = false},
      .verb = op::port_forward,
      .handler = stop_forward,
  });
  reg.add({
      .name = "k8s_stop_all_port_forward_sessions",
      .title = "Stop all port-forwards",
      .description = "Stop every port-forward of this MCP session (a stateless request: those named in ids).",
      .input_schema = schema::object({{"ids", ids_schema("only these forwards")}}),
      .output_schema = schema::output({{"stopped", schema::integer("how many were stopped")}}, {"stopped"}),
      .annotations = {.read_only = false, .destructive = false, .idempotent = true, .open_world = false},
      .verb = op::port_forward,
      .handler = stop_all,
  });
}

}  // namespace mk::tools
