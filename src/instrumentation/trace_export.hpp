#pragma once
// Span export, our own small module (Debian has no OpenTelemetry C++ SDK): a batching processor
// with a bounded queue and its own thread, and exporters for OTLP/HTTP with the JSON encoding
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) and for a stream (stdout).
// A dead or slow collector costs the server nothing but dropped spans, counted in
// otel_spans_dropped_total: ending a span only appends to the queue (or drops, when it is full).
#include "instrumentation/trace.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mk::trace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// What the resource (this process) is called in every export.
struct Resource {
  KeyValues attributes;  // service.name first
};

// The OTLP/JSON ExportTraceServiceRequest for one batch: resourceSpans[1] -> scopeSpans[1] -> spans;
// otlp_json is the same parsed (tests).
std::string otlp_json_text(const Resource& r, const std::vector<std::unique_ptr<SpanData>>& spans);
boost::json::object otlp_json(const Resource& r, const std::vector<std::unique_ptr<SpanData>>& spans);
// The same request in the protobuf encoding (OTLP/HTTP's default): the same fields, about half the
// bytes, and cheaper to write (no hex, no quoting, no decimal numbers).
std::string otlp_proto(const Resource& r, const std::vector<std::unique_ptr<SpanData>>& spans);

// How OTLP/HTTP requests are encoded: OTEL_EXPORTER_OTLP_PROTOCOL (and its per-signal forms),
// http/protobuf (the OTLP default) or http/json.
enum class OtlpProtocol { protobuf, json };
// `specific` (e.g. OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) wins over `general`; "" for both is
// http/protobuf. Throws mk::Error(invalid_argument) naming the setting otherwise (grpc is not
// spoken here: OTLP/gRPC would need HTTP/2).
OtlpProtocol parse_protocol(const std::string& specific, std::string_view specific_name, const std::string& general);
// The Content-Type of a request in that encoding.
std::string_view content_type(OtlpProtocol p);
// The rejected count of an export's partial success (ExportTraceServiceResponse or
// ExportMetricsServiceResponse, field 1 -> field 1), in either encoding; 0 when there is none or
// the answer does not parse.
std::uint64_t rejected_count(OtlpProtocol p, std::string_view body, std::string_view json_field);

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Sends one batch; false when it was not delivered (the batch is dropped and counted).
  virtual bool export_batch(const std::vector<std::unique_ptr<SpanData>>& spans) = 0;
};

// POST <endpoint> with Content-Type application/json; no retries: a failed batch is dropped.
class OtlpHttpExporter : public SpanExporter {
 public:
  // `endpoint` is the full traces URL (…/v1/traces); throws mk::Error when it is not usable.
  // `ca_file`: the CA (PEM) an https collector is verified against; "" => the system's CAs.
  OtlpHttpExporter(Resource r, std::string endpoint, KeyValues headers, std::chrono::milliseconds timeout,
                   std::string ca_file, OtlpProtocol protocol);
  bool export_batch(const std::vector<std::unique_ptr<SpanData>>& spans) override;

 private:
  Resource resource_;
  std::string endpoint_;
  KeyValues headers_;
  std::chrono::milliseconds timeout_;
  std::string ca_file_;
  OtlpProtocol protocol_;
};

// One OTLP/JSON line per batch, to a stream (TRACING_EXPORTER=stdout).
class StreamExporter : public SpanExporter {
 public:
  StreamExporter(Resource r, std::FILE* out) : resource_(std::move(r)), out_(out) {}
  bool export_batch(const std::vector<std::unique_ptr<SpanData>>& spans) override;

 private:
  Resource resource_;
  std::FILE* out_;
};

struct BatchOptions {
  // Spans waiting for export. Beyond it a span is dropped: memory stays bounded however slow
  // the collector is (OTEL_BSP_MAX_QUEUE_SIZE's default).
  std::size_t max_queue = 2048;
  std::size_t max_batch = 512;                    // spans per request (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)
  std::chrono::milliseconds delay{5000};          // a partial batch waits at most this (OTEL_BSP_SCHEDULE_DELAY)
  std::chrono::milliseconds shutdown_wait{5000};  // what shutdown gives the last export
};

// Ends spans into a bounded queue; one background thread exports batches (full ones at once,
// partial ones after `delay`). Thread-safe; on_end never blocks on the exporter.
class BatchProcessor : public SpanSink {
 public:
  BatchProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions opts);
  ~BatchProcessor() override;
  void on_end(std::unique_ptr<SpanData> span) override;
  // An exported SpanData when one is pooled. The I/O thread allocates spans and this thread
  // frees them: without the pool every span costs a cross-thread free and a fresh allocation.
  std::unique_ptr<SpanData> make_span_data() override;
  // Exports what is queued (best effort, bounded by shutdown_wait) and stops the thread.
  void shutdown();
  // Wakes the thread to export what is queued now (tests, shutdown).
  void flush();

  std::uint64_t dropped() const;
  std::uint64_t exported() const;

 private:
  void run();
  std::unique_ptr<SpanExporter> exporter_;
  BatchOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<SpanData>> queue_;
  // Exported spans kept for reuse: at most one batch (max_batch; about 1.6 KiB each, up to ~3 KiB
  // with the name, status message and tracestate they keep room for: ~0.8-1.5 MiB at the default
  // 512, only while tracing is on, and no more than one export already holds). A smaller pool
  // frees and reallocates part of every batch: a 1.6 KiB block freed on this thread and
  // allocated again on the I/O thread is glibc's slow path, and under load that cost more than
  // all the attribute work of a span.
  std::size_t max_pooled_;
  std::vector<std::unique_ptr<SpanData>> pool_;
  bool stop_ = false, flush_ = false;
  std::uint64_t dropped_ = 0, exported_ = 0;
  std::thread thread_;
};

// Settings, from the environment (the seed's names) and flags.
struct TracingSettings {
  // Strings, "" = not given: a flag wins over the environment, the environment over the default.
  std::string instrumentation_enabled;       // INSTRUMENTATION_ENABLED (default true)
  std::string exporter;                      // TRACING_EXPORTER: otlp | stdout | none (default)
  std::string endpoint;                      // OTEL_EXPORTER_OTLP_ENDPOINT (base; /v1/traces is appended)
  std::string traces_endpoint;               // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is)
  std::string headers;                       // OTEL_EXPORTER_OTLP_HEADERS: k=v,k2=v2 (values URL-encoded)
  std::string certificate;                   // OTEL_EXPORTER_OTLP_CERTIFICATE: CA file for an https collector
  std::string protocol;                      // OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf (default) | http/json
  std::string traces_protocol;               // OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (wins for traces)
  std::string service_name;                  // OTEL_SERVICE_NAME
  std::string resource_attributes;           // OTEL_RESOURCE_ATTRIBUTES: k=v,...
  std::string sampler;                       // OTEL_TRACES_SAMPLER
  std::string sampler_arg;                   // OTEL_TRACES_SAMPLER_ARG
  std::string propagate_to_apiserver;        // PROPAGATE_TRACE_TO_APISERVER: true | false (default)
  std::chrono::milliseconds timeout{10000};  // OTEL_EXPORTER_OTLP_TIMEOUT (ms)
  BatchOptions batch;
};

// Fills unset fields from the environment through `getenv` (injectable for tests).
void apply_env(TracingSettings& s, const std::function<const char*(const char*)>& getenv);

// W3C Baggage-style "k=v,k2=v2" with percent-decoded values (OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_HEADERS). Throws mk::Error(invalid_argument) on a malformed entry.
KeyValues parse_key_values(std::string_view s, std::string_view what);

// Throws mk::Error(invalid_argument) when OTEL_EXPORTER_OTLP_CERTIFICATE names an unreadable file.
void check_ca_file(const std::string& path);

// The resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, version, SDK), the validated export
// headers (OTEL_EXPORTER_OTLP_HEADERS) and a signal's URL (`specific` as given, else the base
// endpoint + `path`, e.g. /v1/traces): shared by the trace and metrics exporters.
Resource make_resource(const TracingSettings& s, const std::string& service_version);
KeyValues export_headers(const TracingSettings& s);
std::string signal_url(const std::string& specific, const std::string& base, std::string_view path);

struct Tracing {
  std::shared_ptr<Tracer> tracer;             // null when tracing is off
  std::shared_ptr<BatchProcessor> processor;  // for shutdown()
};

// Builds the tracer the settings ask for (or none); throws mk::Error on bad settings so the
// server refuses to start with a typo rather than silently tracing nothing. `stdout_is_protocol`:
// the stdio transport owns stdout, so the stdout exporter writes to stderr there.
Tracing make_tracing(const TracingSettings& s, const std::string& service_version, bool stdout_is_protocol);

// Declares the exporter's metrics (otel_spans_exported_total, otel_spans_dropped_total).
void register_trace_metrics();

}  // namespace mk::trace
