#include "instrumentation/metrics_export.hpp"

#include "instrumentation/protobuf.hpp"

#include "util/error.hpp"
#include "util/http_post.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

#include <bit>
#include <cstdlib>

#include <pthread.h>

namespace mk::metrics {
namespace json = boost::json;

std::vector<std::pair<std::string, std::string>> parse_labels(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto eq = s.find("=\"", i);
    if (eq == std::string_view::npos) break;
    std::string name(s.substr(i, eq - i)), value;
    std::size_t j = eq + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
        value += s[j] == 'n' ? '\n' : s[j];
      } else {
        value += s[j];
      }
    }
    out.emplace_back(std::move(name), std::move(value));
    i = j + 1;
    if (i < s.size() && s[i] == ',') ++i;
  }
  return out;
}

namespace {

json::array attributes(std::string_view rendered) {
  json::array a;
  for (auto& [k, v] : parse_labels(rendered))
    a.push_back(json::object{{"key", k}, {"value", json::object{{"stringValue", v}}}});
  return a;
}

}  // namespace

json::object otlp_metrics_json(const trace::Resource& r, const std::vector<Registry::FamilyView>& families,
                               std::uint64_t start_ns, std::uint64_t now_ns) {
  auto start = std::to_string(start_ns), now = std::to_string(now_ns);  // fixed64: decimal strings
  json::array metrics;
  for (auto& f : families) {
    if (f.series.empty()) continue;
    json::array points;
    for (auto& s : f.series) {
      json::object p;
      p["attributes"] = attributes(s.labels);
      p["startTimeUnixNano"] = start;
      p["timeUnixNano"] = now;
      if (f.type == "histogram") {
        // OTLP counts per bucket (len(bounds) + 1, the last is +Inf); the registry's are cumulative.
        json::array counts, bounds;
        std::uint64_t prev = 0;
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
          std::uint64_t cum = i < s.buckets.size() ? s.buckets[i] : prev;
          counts.push_back(json::value(std::to_string(cum - prev)));
          bounds.push_back(kBuckets[i]);
          prev = cum;
        }
        counts.push_back(json::value(std::to_string(s.count - prev)));
        p["count"] = std::to_string(s.count);
        p["sum"] = s.sum;
        p["bucketCounts"] = std::move(counts);
        p["explicitBounds"] = std::move(bounds);
      } else {
        p["asDouble"] = s.value;
      }
      points.push_back(std::move(p));
    }
    json::object m{{"name", f.name}};
    if (!f.help.empty()) m["description"] = f.help;
    json::object data;
    data["dataPoints"] = std::move(points);
    if (f.type == "counter") {
      data["aggregationTemporality"] = 2;  // CUMULATIVE
      data["isMonotonic"] = true;
      m["sum"] = std::move(data);
    } else if (f.type == "histogram") {
      data["aggregationTemporality"] = 2;
      m["histogram"] = std::move(data);
    } else {
      m["gauge"] = std::move(data);
    }
    metrics.push_back(std::move(m));
  }
  json::array rattrs;
  for (auto& [k, v] : r.attributes)
    rattrs.push_back(json::object{{"key", k}, {"value", json::object{{"stringValue", v}}}});
  json::object scope{{"name", "mcp-kubernetes"}};
  json::object scope_metrics;
  scope_metrics["scope"] = std::move(scope);
  scope_metrics["metrics"] = std::move(metrics);
  json::object resource;
  resource["attributes"] = std::move(rattrs);
  json::object rm;
  rm["resource"] = std::move(resource);
  rm["scopeMetrics"].emplace_array().push_back(std::move(scope_metrics));
  json::object out;
  out["resourceMetrics"].emplace_array().push_back(std::move(rm));
  return out;
}

namespace {

// A KeyValue with a string value (labels and resource attributes are all strings).
void put_string_kv(proto::Writer& w, std::uint32_t field, std::string_view k, std::string_view v) {
  auto kv = w.begin(field);
  w.string_field(1, k);
  auto any = w.begin(2);
  w.string_field(1, v);
  w.end(any);
  w.end(kv);
}

void put_attributes(proto::Writer& w, std::uint32_t field, std::string_view rendered) {
  for (auto& [k, v] : parse_labels(rendered)) put_string_kv(w, field, k, v);
}

}  // namespace

std::string otlp_metrics_proto(const trace::Resource& r, const std::vector<Registry::FamilyView>& families,
                               std::uint64_t start_ns, std::uint64_t now_ns) {
  std::string out;
  proto::Writer w(out);
  auto rm = w.begin(1);        // ExportMetricsServiceRequest.resource_metrics
  auto resource = w.begin(1);  // ResourceMetrics.resource
  for (auto& [k, v] : r.attributes) put_string_kv(w, 1, k, v);
  w.end(resource);
  auto sm = w.begin(2);     // ResourceMetrics.scope_metrics
  auto scope = w.begin(1);  // ScopeMetrics.scope
  w.string_field(1, "mcp-kubernetes");
  w.end(scope);
  for (auto& f : families) {
    if (f.series.empty()) continue;
    auto m = w.begin(2);  // ScopeMetrics.metrics
    w.string_field(1, f.name);
    if (!f.help.empty()) w.string_field(2, f.help);
    bool histogram = f.type == "histogram", counter = f.type == "counter";
    auto data = w.begin(histogram ? 9 : counter ? 7 : 5);  // Metric.histogram | sum | gauge
    for (auto& s : f.series) {
      auto p = w.begin(1);  // data_points
      w.fixed64_field(2, start_ns);
      w.fixed64_field(3, now_ns);
      if (histogram) {
        put_attributes(w, 9, s.labels);
        w.fixed64_field(4, s.count);
        w.double_field(5, s.sum);
        // OTLP counts per bucket (len(bounds) + 1, the last is +Inf); the registry's are cumulative.
        w.begin_packed64(6, kBuckets.size() + 1);
        std::uint64_t prev = 0;
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
          std::uint64_t cum = i < s.buckets.size() ? s.buckets[i] : prev;
          w.fixed64(cum - prev);
          prev = cum;
        }
        w.fixed64(s.count - prev);
        w.begin_packed64(7, kBuckets.size());
        for (double b : kBuckets) w.fixed64(std::bit_cast<std::uint64_t>(b));
      } else {
        put_attributes(w, 7, s.labels);
        w.double_field(4, s.value);  // as_double
      }
      w.end(p);
    }
    if (histogram || counter) w.uint_field(2, 2);  // aggregation_temporality: CUMULATIVE
    if (counter) w.bool_field(3, true);            // is_monotonic
    w.end(data);
    w.end(m);
  }
  w.end(sm);
  w.end(rm);
  return out;
}

void apply_env(MetricsSettings& s, const std::function<const char*(const char*)>& getenv) {
  if (const char* v = getenv("METRICS_EXPORTER"); v && *v && s.exporter.empty()) s.exporter = v;
  if (const char* v = getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"); v && *v && s.endpoint.empty()) s.endpoint = v;
  if (const char* v = getenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"); v && *v && s.protocol.empty()) s.protocol = v;
  if (const char* v = getenv("OTEL_METRIC_EXPORT_INTERVAL"); v && *v) {
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    // At least 100 ms: a snapshot walks the whole registry under its lock.
    if (*end || n < 100 || n > 3600000)
      fail(Errc::invalid_argument, "OTEL_METRIC_EXPORT_INTERVAL must be 100..3600000");
    s.interval = std::chrono::milliseconds(n);
  }
}

MetricsPusher::MetricsPusher(trace::Resource r, std::function<bool(std::string)> send,
                             std::chrono::milliseconds interval, trace::OtlpProtocol encoding)
    : resource_(std::move(r)), send_(std::move(send)), interval_(interval), encoding_(encoding),
      start_ns_(trace::now_unix_ns()) {
  thread_ = std::thread([this] { run(); });
}

MetricsPusher::~MetricsPusher() { shutdown(); }

void MetricsPusher::shutdown() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void MetricsPusher::run() {
  // Named, so `top -H`, perf and /proc/<pid>/task tell its CPU from the I/O thread's.
  pthread_setname_np(pthread_self(), "metrics-export");
  for (;;) {
    bool stopping;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, interval_, [&] { return stop_; });
      stopping = stop_;
    }
    auto families = Registry::global().snapshot();
    auto now = trace::now_unix_ns();
    auto body = encoding_ == trace::OtlpProtocol::protobuf
                    ? otlp_metrics_proto(resource_, families, start_ns_, now)
                    : json::serialize(otlp_metrics_json(resource_, families, start_ns_, now));
    bool ok = false;
    try {
      ok = send_(std::move(body));
    } catch (const std::exception& e) {
      log::debug("metrics export failed: {}", e.what());
    }
    Registry::global().inc("otel_metric_exports_total", {{"outcome", ok ? "success" : "failed"}});
    if (stopping) return;
  }
}

std::unique_ptr<MetricsPusher> make_metrics_pusher(const MetricsSettings& m, const trace::TracingSettings& t,
                                                   const std::string& service_version, bool stdout_is_protocol) {
  std::string name = m.exporter.empty() ? "prometheus" : m.exporter;
  if (name != "prometheus" && name != "otlp" && name != "stdout")
    fail(Errc::invalid_argument, fmt::format("METRICS_EXPORTER must be prometheus, otlp or stdout (got \"{}\")", name));
  if (name == "prometheus" || t.instrumentation_enabled == "false" || t.instrumentation_enabled == "0") return nullptr;
  auto& reg = Registry::global();
  reg.describe("otel_metric_exports_total", "counter", "Metric pushes (METRICS_EXPORTER=otlp|stdout) by outcome.");
  reg.inc("otel_metric_exports_total", {{"outcome", "success"}}, 0);
  reg.inc("otel_metric_exports_total", {{"outcome", "failed"}}, 0);
  auto resource = trace::make_resource(t, service_version);
  if (name == "stdout") {
    std::FILE* out = stdout_is_protocol ? stderr : stdout;
    auto send = [out](std::string body) {
      body += '\n';
      return std::fwrite(body.data(), 1, body.size(), out) == body.size() && std::fflush(out) == 0;
    };
    // One JSON line per push: stdout is for people and log pipelines.
    return std::make_unique<MetricsPusher>(std::move(resource), std::move(send), m.interval, trace::OtlpProtocol::json);
  }
  auto protocol = trace::parse_protocol(m.protocol, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", t.protocol);
  auto url = http_post::parse_url(trace::signal_url(m.endpoint, t.endpoint, "/v1/metrics"));
  auto headers = trace::export_headers(t);
  headers.emplace_back("Content-Type", std::string(trace::content_type(protocol)));
  auto timeout = t.timeout;
  trace::check_ca_file(t.certificate);
  auto send = [url, headers, timeout, protocol, ca = t.certificate](std::string body) {
    auto res = http_post::post(url, headers, std::move(body), timeout, 64 * 1024, ca);
    if (res.status >= 200 && res.status < 300) {
      // Cumulative sums: a point refused now is carried again by the next push.
      if (auto n = trace::rejected_count(protocol, res.body, "rejectedDataPoints"))
        log::debug("metrics export: the collector refused {} data points", n);
      return true;
    }
    log::debug("metrics export failed: {}", res.status ? fmt::format("HTTP {}", res.status) : res.error);
    return false;
  };
  return std::make_unique<MetricsPusher>(std::move(resource), std::move(send), m.interval, protocol);
}

}  // namespace mk::metrics
