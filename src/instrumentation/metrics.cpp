#include "instrumentation/metrics.hpp"

#include <fmt/core.h>

#include <cmath>

namespace mk::metrics {

Registry& Registry::global() {
  static Registry r;
  return r;
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

namespace {
std::string key_of(const Labels& labels) {
  std::string k;
  for (auto& [n, v] : labels) {
    if (!k.empty()) k += ',';
    k += n + "=\"" + escape_label_value(v) + "\"";
  }
  return k;
}

std::string fmt_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}
}  // namespace

void Registry::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lk(mu_);
  auto& f = families_[name];
  f.type = type;
  f.help = help;
}

void Registry::inc(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lk(mu_);
  families_[name].series[key_of(labels)].value += by;
}

void Registry::add(const std::string& name, const Labels& labels, double delta) {
  std::lock_guard lk(mu_);
  families_[name].series[key_of(labels)].value += delta;
}

void Registry::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lk(mu_);
  families_[name].series[key_of(labels)].value = value;
}

void Registry::observe(const std::string& name, const Labels& labels, double seconds) {
  std::lock_guard lk(mu_);
  auto& s = families_[name].series[key_of(labels)];
  if (s.buckets.empty()) s.buckets.assign(kBuckets.size(), 0);
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++s.buckets[i];
  s.sum += seconds;
  ++s.count;
}

std::string Registry::render() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (auto& [name, f] : families_) {
    if (!f.help.empty()) out += fmt::format("# HELP {} {}\n", name, f.help);
    out += fmt::format("# TYPE {} {}\n", name, f.type);
    for (auto& entry : f.series) {
      const auto& key = entry.first;  // not a structured binding: clang 15 cannot capture one
      const auto& s = entry.second;
      auto braces = [&](const std::string& extra) {
        std::string k = key;
        if (!extra.empty()) k += (k.empty() ? "" : ",") + extra;
        return k.empty() ? std::string() : "{" + k + "}";
      };
      if (f.type == "histogram") {
        for (std::size_t i = 0; i < kBuckets.size(); ++i)
          out += fmt::format("{}_bucket{} {}\n", name, braces("le=\"" + fmt_value(kBuckets[i]) + "\""),
                             i < s.buckets.size() ? s.buckets[i] : 0);
        out += fmt::format("{}_bucket{} {}\n", name, braces("le=\"+Inf\""), s.count);
        out += fmt::format("{}_sum{} {}\n", name, braces(""), fmt_value(s.sum));
        out += fmt::format("{}_count{} {}\n", name, braces(""), s.count);
      } else {
        out += fmt::format("{}{} {}\n", name, braces(""), fmt_value(s.value));
      }
    }
  }
  return out;
}

std::vector<Registry::FamilyView> Registry::snapshot() const {
  std::lock_guard lk(mu_);
  std::vector<FamilyView> out;
  out.reserve(families_.size());
  for (auto& [name, f] : families_) {
    FamilyView v{name, f.type, f.help, {}};
    for (auto& entry : f.series)
      v.series.push_back({entry.first, entry.second.value, entry.second.buckets, entry.second.sum, entry.second.count});
    out.push_back(std::move(v));
  }
  return out;
}

void register_standard_metrics() {
  auto& r = Registry::global();
  r.describe("http_requests_total", "counter", "HTTP requests by method, path and status code.");
  r.describe("http_request_duration_seconds", "histogram", "HTTP request duration by method and path.");
  r.describe("mcp_kubernetes_operations_total", "counter", "Tool calls (Kubernetes operations) by tool and status.");
  r.describe("mcp_kubernetes_operation_duration_seconds", "histogram", "Tool call duration by tool.");
  r.describe("kubernetes_pod_operations_total", "counter", "Pod operations (logs, exec, port-forward) by status.");
  r.describe("kubernetes_pod_operation_duration_seconds", "histogram", "Pod operation duration by operation.");
  r.describe("active_port_forward_sessions", "gauge", "Port-forward sessions currently open.");
  r.describe("mcp_sessions_active", "gauge", "MCP sessions currently open (HTTP transport).");
  r.describe("mcp_kubernetes_wc_client_cache_total", "counter",
             "Workload-cluster client cache lookups and evictions by result (hit, miss, eviction).");
  r.describe("mcp_kubernetes_wc_client_cache_entries", "gauge", "Workload-cluster clients cached.");
  r.describe("mcp_kubernetes_wc_auth_mode", "gauge", "How workload clusters are reached (1 for the mode in use).");
  r.describe("mcp_kubernetes_fleet_calls_total", "counter",
             "Fleet-wide tool calls by outcome (ok: every cluster answered, partial, failed).");
  r.describe("mcp_kubernetes_capi_access_reviews_total", "counter",
             "SubjectAccessReviews sent for the access check on Cluster objects, by result (allowed, denied, error).");
  r.describe("mcp_kubernetes_capi_access_cache_total", "counter",
             "Access-check questions by how they were answered (hit: cache, miss: a review sent, shared: joined one "
             "in flight).");
  r.set("active_port_forward_sessions", {}, 0);
}

}  // namespace mk::metrics
