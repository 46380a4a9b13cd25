#pragma once
// The Prometheus registry's metrics pushed over OTLP/HTTP JSON (METRICS_EXPORTER=otlp) or
// written to a stream (stdout), every OTEL_METRIC_EXPORT_INTERVAL, by a thread of their own.
// /metrics keeps serving the same registry whatever the exporter. Counters go as cumulative
// monotonic sums, so a push lost to a dead collector loses nothing: the next carries the totals.
#include "instrumentation/metrics.hpp"
#include "instrumentation/trace_export.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mk::metrics {

// a="x",b="y\"z" -> {{a, x}, {b, y"z}} (the registry's rendered label sets).
std::vector<std::pair<std::string, std::string>> parse_labels(std::string_view rendered);

// The OTLP/JSON ExportMetricsServiceRequest for one snapshot.
boost::json::object otlp_metrics_json(const trace::Resource& r, const std::vector<Registry::FamilyView>& families,
                                      std::uint64_t start_ns, std::uint64_t now_ns);

// The same request in the protobuf encoding (opentelemetry/proto/metrics/v1/metrics.proto).
std::string otlp_metrics_proto(const trace::Resource& r, const std::vector<Registry::FamilyView>& families,
                               std::uint64_t start_ns, std::uint64_t now_ns);

struct MetricsSettings {
  std::string exporter;  // METRICS_EXPORTER: prometheus (default: /metrics only) | otlp | stdout
  std::string endpoint;  // OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics
  std::string protocol;  // OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL
  std::chrono::milliseconds interval{60000};  // OTEL_METRIC_EXPORT_INTERVAL
};
void apply_env(MetricsSettings& s, const std::function<const char*(const char*)>& getenv);

// Pushes snapshots of the global registry until shut down (then once more).
class MetricsPusher {
 public:
  // `send` delivers one request serialized in `encoding`; false when it was not delivered.
  MetricsPusher(trace::Resource r, std::function<bool(std::string)> send, std::chrono::milliseconds interval,
                trace::OtlpProtocol encoding);
  ~MetricsPusher();
  void shutdown();

 private:
  void run();
  trace::Resource resource_;
  std::function<bool(std::string)> send_;
  std::chrono::milliseconds interval_;
  trace::OtlpProtocol encoding_;
  std::uint64_t start_ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The pusher the settings ask for (null for prometheus); throws mk::Error on bad settings.
// Resource and headers as for traces (OTEL_SERVICE_NAME, ..., OTEL_EXPORTER_OTLP_HEADERS).
std::unique_ptr<MetricsPusher> make_metrics_pusher(const MetricsSettings& m, const trace::TracingSettings& t,
                                                   const std::string& service_version, bool stdout_is_protocol);

}  // namespace mk::metrics
