#pragma once
// Distributed tracing: W3C Trace Context, spans, a sampler and a tracer. Debian ships no
// OpenTelemetry C++ SDK, so this is our own small one; the export side (batching, OTLP/HTTP
// JSON, stdout) is trace_export.hpp.
//
// The current span is passed explicitly (pipeline::Call holds it, Call::client() stamps it on
// the kube client it hands out), not kept in a thread-local: every MCP call runs as a coroutine
// on the one I/O thread, and at each co_await another call's coroutine resumes on that thread.
// A thread-local "current span" set by call A would be read by call B after A suspends, and
// Asio gives no hook to swap it back at each resumption.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mk::trace {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);
bool is_zero(const TraceId& id);
bool is_zero(const SpanId& id);

struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  std::uint8_t flags = 0;   // W3C trace-flags; bit 0 = sampled
  std::string trace_state;  // validated W3C tracestate ("" = none)
  bool remote = false;      // came from a caller (traceparent), not made here

  bool valid() const { return !is_zero(trace_id) && !is_zero(span_id); }
  bool sampled() const { return valid() && (flags & 1); }
};

// W3C traceparent (https://www.w3.org/TR/trace-context/#traceparent-header), strictly: lowercase
// hex only, version ff refused, version 00 exactly 55 characters, later versions parsed by their
// version-00 prefix, all-zero trace or parent ids refused. Anything else is nullopt (the caller
// then starts a new trace rather than trusting a malformed header).
std::optional<SpanContext> parse_traceparent(std::string_view s);
std::string format_traceparent(const SpanContext& c);
// W3C tracestate: at most 32 list-members with valid keys and values and at most 512 characters
// (bigger is refused whole rather than truncated); "" when invalid or empty.
std::string sanitize_tracestate(std::string_view s);

// The trace context of an inbound request: `primary` (MCP params._meta) wins; `secondary` (the
// HTTP request's headers) is the parent only when the primary is absent or invalid. Returns the
// parent, and in `link` the secondary context when both are valid and differ (semconv: the MCP
// server span links the transport context).
struct Extracted {
  std::optional<SpanContext> parent;
  std::optional<SpanContext> link;
};
Extracted extract(std::string_view primary_traceparent, std::string_view primary_tracestate,
                  std::string_view secondary_traceparent, std::string_view secondary_tracestate);

// Which spans are recorded (OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG).
class Sampler {
 public:
  enum class Kind { always_on, always_off, ratio, parent_always_on, parent_always_off, parent_ratio };
  Sampler() = default;
  Sampler(Kind k, double ratio);
  // From the environment's names (always_on, always_off, traceidratio, parentbased_always_on,
  // parentbased_always_off, parentbased_traceidratio) and argument; an unknown name or a bad
  // argument is an error message in `error` and the default (parentbased_traceidratio, 1.0).
  static Sampler from_names(std::string_view name, std::string_view arg, std::string* error);

  // A root decision for `id` when there is no parent; a parent-based sampler follows the parent.
  bool should_sample(const SpanContext* parent, const TraceId& id) const;
  Kind kind() const { return kind_; }
  double ratio() const { return ratio_; }

 private:
  Kind kind_ = Kind::parent_ratio;
  double ratio_ = 1.0;
  std::uint64_t bound_ = ~std::uint64_t{0} >> 1;  // ratio * 2^63, against the trace id's low 63 bits
};

enum class SpanKind : int { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };  // OTLP values
enum class Status : int { unset = 0, ok = 1, error = 2 };

// An attribute's key: a string literal, checked at compile time. A span keeps a pointer to it
// rather than a copy, and no caller-supplied text can ever become a key (a collector indexes keys).
class AttrKey {
 public:
  template <std::size_t N>
  consteval AttrKey(const char (&s)[N]) : v_(s, std::char_traits<char>::length(s)) {}  // NOLINT: from a literal
  std::string_view view() const { return v_; }

 private:
  std::string_view v_;
};

// A string value points into its span's arena (SpanData::set) or, for a Resource, at text that
// outlives the export.
using AttrValue = std::variant<std::string_view, std::int64_t, double, bool>;
struct Attribute {
  std::string_view key;
  AttrValue value;
};
struct Link {
  SpanContext context;
};

// Bounds on what one span holds: a caller controls some attribute values (tool arguments such
// as a namespace), and every span sits in the export queue until sent.
inline constexpr std::size_t kMaxAttributes = 64;
inline constexpr std::size_t kMaxAttributeValue = 1024;
// All string values of one span together (a value set again keeps its old text until the span
// is freed); beyond it a value is dropped and counted.
inline constexpr std::size_t kMaxSpanText = 16 * 1024;

// A finished (or finishing) span as exported. Its attributes and their text live in an arena whose
// first kSpanInline bytes are inside the SpanData: a typical span is one allocation, made on the
// thread that records it and freed once by the exporter (tracing at ratio 1.0 is meant to cost a
// call a few microseconds, and per-attribute allocations were most of that).
inline constexpr std::size_t kSpanInline = 1280;
class SpanData {
  // The arena comes first: members are built in order, and `attributes_` allocates from it.
  alignas(std::max_align_t) std::array<std::byte, kSpanInline> inline_;
  std::pmr::monotonic_buffer_resource arena_;
  std::size_t text_bytes_ = 0;
  // Private: a string value must point into the arena, which only set() guarantees.
  std::pmr::vector<Attribute> attributes_;

 public:
  SpanData();
  SpanData(const SpanData&) = delete;
  SpanData& operator=(const SpanData&) = delete;

  SpanContext context;
  SpanId parent_span_id{};  // zero = root
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::uint64_t start_ns = 0, end_ns = 0;  // Unix epoch nanoseconds
  std::uint32_t dropped_attributes = 0;    // sets refused: over kMaxAttributes or kMaxSpanText
  std::vector<Link> links;
  Status status = Status::unset;
  std::string status_message;

  // Sets `key` to `value` (a string is copied into the arena, cut at kMaxAttributeValue); over the
  // bounds the attribute is dropped and counted (a value that no longer fits is dropped, not
  // left stale).
  void set(AttrKey key, AttrValue value);
  const std::pmr::vector<Attribute>& attributes() const { return attributes_; }
  // The value of `key`, or null.
  const AttrValue* find(std::string_view key) const;
  // Back to a fresh span, keeping the arena's inline block (a pooled SpanData is reused).
  void reset();
};

// Where finished spans go: a BatchProcessor (trace_export.hpp) or a test's fake. Called on the
// thread that ends the span; must not block.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void on_end(std::unique_ptr<SpanData> span) = 0;
  // A fresh SpanData for a span starting now; a sink may hand back one it has exported.
  virtual std::unique_ptr<SpanData> make_span_data() { return std::make_unique<SpanData>(); }
};

class Tracer;

// One span being recorded, ended by end() or its destructor. A span that is not sampled records
// nothing but still carries a context to propagate (flags 00). Move-only.
class Span {
 public:
  Span() = default;
  Span(Span&&) noexcept;
  Span& operator=(Span&&) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  bool recording() const { return data_ != nullptr; }
  const SpanContext& context() const { return ctx_; }
  // Attribute values are capped (kMaxAttributeValue) and attributes counted (kMaxAttributes).
  void set(AttrKey key, std::string_view value);
  void set(AttrKey key, const char* value) { set(key, std::string_view(value)); }
  void set(AttrKey key, const std::string& value) { set(key, std::string_view(value)); }
  void set(AttrKey key, std::int64_t value);
  void set(AttrKey key, int value) { set(key, static_cast<std::int64_t>(value)); }
  void set(AttrKey key, bool value);
  void set(AttrKey key, double value);
  void set_status(Status s, std::string_view message);
  void set_name(std::string name);
  void end();

 private:
  friend class Tracer;
  SpanContext ctx_;
  std::unique_ptr<SpanData> data_;
  std::shared_ptr<SpanSink> sink_;
};

class Tracer {
 public:
  Tracer(Sampler sampler, std::shared_ptr<SpanSink> sink);

  // A span under `parent` (nullptr or invalid: a new trace). Overloads rather than default
  // arguments: these are called from coroutines (g++ 12).
  Span start(std::string name, SpanKind kind, const SpanContext* parent) const;
  Span start(std::string name, SpanKind kind, const SpanContext* parent, std::vector<Link> links) const;
  const Sampler& sampler() const { return sampler_; }

 private:
  Sampler sampler_;
  std::shared_ptr<SpanSink> sink_;
};

// The process's tracer; null while tracing is off (then nothing is recorded or allocated).
std::shared_ptr<const Tracer> global();
void set_global(std::shared_ptr<const Tracer> t);

// A child of `parent` with the global tracer; a non-recording span when tracing is off or the
// parent is absent/unsampled (background work does not start traces of its own).
Span start_child(std::string name, SpanKind kind, const SpanContext& parent);

TraceId random_trace_id();
SpanId random_span_id();
std::uint64_t now_unix_ns();

// " trace_id=<hex> span_id=<hex>" for a log line written inside a traced call (sampled spans
// only: an unsampled id leads to no trace), "" otherwise. The one format every log line uses,
// so a line leads to its trace.
std::string log_fields(const SpanContext& c);

}  // namespace mk::trace
