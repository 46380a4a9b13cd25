// k8s_get_cluster_health: apiserver /readyz and /livez checks, version, node readiness and API
// latency. Each part that fails (forbidden, unreachable) is reported in its own section; the
// call itself only fails when cancelled.
#include "tools/cluster/cluster_tools.hpp"
#include "tools/cluster/health_checks.hpp"
#include "tools/common/schema.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <chrono>

namespace mk::tools {
namespace {
namespace json = boost::json;

constexpr std::chrono::milliseconds kProbeTimeout{std::chrono::seconds(8)};
constexpr std::size_t kMaxNodes = 10000;
constexpr int kNodePage = 500;
constexpr int kLatencySamples = 5;

std::string note(const Error& e) { return fmt::format("{}: {}", to_string(e.code()), e.what()); }
void rethrow_if_fatal(const Error& e) {
  if (e.code() == Errc::cancelled) throw e;
}

// GET /readyz?verbose or /livez?verbose. A 500 still carries the per-check lines.
boost::asio::awaitable<json::object> probe(std::shared_ptr<k8s::Client> client, std::string endpoint) {
  k8s::Request r;
  r.target = endpoint + "?verbose";
  r.accept = "text/plain, */*";
  r.timeout = kProbeTimeout;
  json::object out;
  k8s::Response res;
  try {
    res = co_await client->transport().send(std::move(r));
  } catch (const Error& e) {
    rethrow_if_fatal(e);
    out["status"] = "error";
    out["error"] = note(e);
    co_return out;
  }
  out["httpStatus"] = res.status;
  if (res.status == 401 || res.status == 403) {
    out["status"] = res.status == 403 ? "forbidden" : "unauthorized";
    out["error"] =
        fmt::format("{} {} for this identity", endpoint, res.status == 403 ? "is forbidden" : "needs credentials");
    co_return out;
  }
  auto checks = health::parse_verbose(res.body);
  json::array arr, failed;
  for (auto& c : checks) {
    json::object o{{"name", c.name}, {"ok", c.ok}};
    if (!c.ok) {
      if (!c.message.empty()) o["message"] = c.message;
      failed.push_back(json::string(c.name));
    }
    arr.push_back(std::move(o));
  }
  if (res.status == 200) out["status"] = "ok";
  else if (res.status == 500 || !failed.empty()) out["status"] = "failed";
  else {
    out["status"] = "error";
    out["error"] = fmt::format("{} answered HTTP {}: {}", endpoint, res.status, res.body.substr(0, 200));
  }
  out["passed"] = checks.size() - failed.size();
  out["failed"] = std::move(failed);
  out["checks"] = std::move(arr);
  co_return out;
}

boost::asio::awaitable<json::object> version(std::shared_ptr<k8s::Client> client) {
  json::object out;
  try {
    auto v = co_await client->get_json("/version");
    if (v.is_object())
      for (auto* k : {"gitVersion", "platform", "goVersion", "buildDate"})
        if (auto* x = v.as_object().if_contains(k); x && x->is_string()) out[k] = *x;
    out["status"] = "ok";
  } catch (const Error& e) {
    rethrow_if_fatal(e);
    out["status"] = e.code() == Errc::forbidden ? "forbidden" : "error";
    out["error"] = note(e);
  }
  co_return out;
}

boost::asio::awaitable<json::object> nodes(std::shared_ptr<k8s::Client> client) {
  health::NodeTally tally;
  std::string cont;
  try {
    do {
      k8s::Query q{{"limit", std::to_string(kNodePage)}};
      if (!cont.empty()) q.emplace_back("continue", cont);
      auto v = co_await client->get_json("/api/v1/nodes", q);
      auto& o = v.as_object();
      if (auto* items = o.if_contains("items"); items && items->is_array())
        for (auto& n : items->as_array())
          if (n.is_object()) tally.add(n.as_object());
      cont.clear();
      if (auto* md = o.if_contains("metadata"); md && md->is_object())
        if (auto* c = md->as_object().if_contains("continue"); c && c->is_string()) cont = c->as_string();
    } while (!cont.empty() && tally.total() < kMaxNodes);
  } catch (const Error& e) {
    rethrow_if_fatal(e);
    co_return json::object{{"status", e.code() == Errc::forbidden ? "forbidden" : "error"}, {"error", note(e)}};
  }
  auto out = tally.to_json();
  out["status"] = tally.total() == 0 ? "none" : tally.not_ready() ? "degraded" : "ok";
  if (!cont.empty()) out["countedUpTo"] = kMaxNodes;
  co_return out;
}

// Sequential small GETs through the normal client path (auth, keep-alive pool, rate limit):
// what a tool call actually waits for. A namespace list with limit=1 reaches etcd; /version
// is the fallback for identities that may not list namespaces.
boost::asio::awaitable<json::object> latency(std::shared_ptr<k8s::Client> client) {
  std::vector<double> samples;
  std::string path = "/api/v1/namespaces?limit=1";
  std::string error;
  for (int i = 0; i < kLatencySamples; ++i) {
    k8s::Request r;
    r.target = path;
    r.timeout = kProbeTimeout;
    auto t0 = std::chrono::steady_clock::now();
    k8s::Response res;
    try {
      res = co_await client->transport().send(std::move(r));
    } catch (const Error& e) {
      rethrow_if_fatal(e);
      error = note(e);
      break;
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (res.status < 200 || res.status >= 300) {
      if (path != "/version" && samples.empty()) {
        path = "/version";
        --i;
        continue;
      }
      error = fmt::format("GET {} answered HTTP {}", path, res.status);
      break;
    }
    samples.push_back(ms);
  }
  json::object out{{"path", path}, {"samples", samples.size()}};
  if (!samples.empty()) {
    auto st = health::latency_stats(samples);
    auto round2 = [](double v) { return static_cast<double>(static_cast<std::int64_t>(v * 100 + 0.5)) / 100; };
    out["minMs"] = round2(st.min_ms);
    out["medianMs"] = round2(st.median_ms);
    out["maxMs"] = round2(st.max_ms);
  }
  if (!error.empty()) out["error"] = error;
  co_return out;
}

std::string str_of(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
std::int64_t int_of(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

std::string probe_text(const char* name, const json::object& p) {
  auto st = str_of(p, "status");
  if (st == "ok") return fmt::format("{}: ok ({} checks passed)\n", name, int_of(p, "passed"));
  if (st == "failed") {
    std::string failed;
    for (auto& c : p.at("checks").as_array()) {
      auto& co = c.as_object();
      if (co.at("ok").as_bool()) continue;
      failed += (failed.empty() ? "" : ", ") + str_of(co, "name");
      if (auto m = str_of(co, "message"); !m.empty()) failed += " (" + m + ")";
    }
    return fmt::format("{}: FAILED: {}\n", name,
                       failed.empty() ? "HTTP " + std::to_string(int_of(p, "httpStatus")) : failed);
  }
  return fmt::format("{}: {} ({})\n", name, st, str_of(p, "error"));
}
}  // namespace

boost::asio::awaitable<mcp::ToolResult> get_cluster_health(Env& env, Call& c) {
  auto client = c.client();
  auto context = c.context();
  // Sequential on purpose: cheap requests, and the latency samples should not queue behind
  // a large node list.
  auto ver = co_await version(client);
  auto lat = co_await latency(client);
  auto readyz = co_await probe(client, "/readyz");
  auto livez = co_await probe(client, "/livez");
  auto nd = co_await nodes(client);

  std::string rs = str_of(readyz, "status"), ls = str_of(livez, "status"), ns = str_of(nd, "status");
  std::string overall = "healthy";
  bool unreachable = str_of(ver, "status") == "error" && rs == "error";
  if (unreachable || rs == "failed" || ls == "failed") overall = "unhealthy";
  else if (ns == "degraded" || rs == "error" || ls == "error") overall = "degraded";
  json::array unknown;
  using Part = std::pair<const char*, std::string>;
  for (auto& [name, st] :
       {Part{"readyz", rs}, Part{"livez", ls}, Part{"version", str_of(ver, "status")}, Part{"nodes", ns}})
    if (st == "forbidden" || st == "unauthorized") unknown.push_back(json::string(name));

  std::string text = fmt::format("Cluster health: {} (context {})\n", overall, context);
  if (str_of(ver, "status") == "ok") text += fmt::format("API server: {}\n", str_of(ver, "gitVersion"));
  else text += fmt::format("API server version: {} ({})\n", str_of(ver, "status"), str_of(ver, "error"));
  text += probe_text("readyz", readyz);
  text += probe_text("livez", livez);
  if (ns == "ok" || ns == "degraded" || ns == "none") {
    text += fmt::format("Nodes: {} total, {} ready, {} not ready\n", int_of(nd, "total"), int_of(nd, "ready"),
                        int_of(nd, "notReady"));
    for (auto& n : nd.at("notReadyNodes").as_array()) {
      auto& no = n.as_object();
      text += fmt::format("  NotReady {}: {} {}\n", str_of(no, "name"), str_of(no, "reason"), str_of(no, "message"));
    }
  } else {
    text += fmt::format("Nodes: {} ({})\n", ns, str_of(nd, "error"));
  }
  if (lat.contains("medianMs"))
    text += fmt::format("API latency: min {} ms, median {} ms over {} GET {}\n", lat.at("minMs").to_number<double>(),
                        lat.at("medianMs").to_number<double>(), int_of(lat, "samples"), str_of(lat, "path"));
  else text += fmt::format("API latency: not measured ({})\n", str_of(lat, "error"));
  if (!unknown.empty()) text += "Not visible to this identity: " + json::serialize(unknown) + "\n";

  json::object out{{"status", overall},           {"context", context},        {"version", std::move(ver)},
                   {"readyz", std::move(readyz)}, {"livez", std::move(livez)}, {"nodes", std::move(nd)},
                   {"latency", std::move(lat)}};
  if (!unknown.empty()) out["notVisible"] = std::move(unknown);
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

json::object cluster_health_input_schema() { return schema::with_context(schema::object({})); }

}  // namespace mk::tools
