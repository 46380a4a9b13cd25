#include "instrumentation/trace_export.hpp"

#include "instrumentation/metrics.hpp"
#include "instrumentation/propagation.hpp"
#include "instrumentation/protobuf.hpp"
#include "util/error.hpp"
#include "util/http_post.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <pthread.h>

namespace mk::trace {
namespace json = boost::json;

namespace {

// The OTLP/JSON text is written directly rather than through a json::object tree: building
// the tree (two objects per attribute) was most of what exporting a span cost. No temporaries
// either: every piece is appended to the one batch buffer.

// A JSON string of `v`. Text from callers, API servers and runtimes can hold ill-formed UTF-8
// (cut mid code point, or not UTF-8 at all); a collector decoding strictly would refuse the
// whole batch, so each ill-formed byte becomes U+FFFD here, the one place every string passes.
void put_str(std::string& out, std::string_view v) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  static constexpr auto kSpecial = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[c] = true;
    for (int c = 0x80; c < 0x100; ++c) t[c] = true;
    t['"'] = t['\\'] = true;
    return t;
  }();
  out += '"';
  std::size_t run = 0;  // start of the stretch that needs no escaping
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto u = static_cast<unsigned char>(v[i]);
    if (!kSpecial[u]) continue;
    if (u >= 0x80) {
      if (auto n = utf8_sequence_length(v, i)) {
        i += n - 1;
        continue;
      }
    }
    out.append(v.data() + run, i - run);
    run = i + 1;
    if (u >= 0x80) {
      out += "\\ufffd";
    } else if (u == '"' || u == '\\') {
      out += '\\';
      out += v[i];
    } else {
      char esc[6] = {'\\', 'u', '0', '0', kHexDigits[u >> 4], kHexDigits[u & 15]};
      out.append(esc, 6);
    }
  }
  out.append(v.data() + run, v.size() - run);
  out += '"';
}

template <class Number>
void put_number(std::string& out, Number i) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

template <std::size_t N>
void put_hex(std::string& out, const std::array<std::uint8_t, N>& id) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  char buf[2 * N + 2];
  buf[0] = buf[2 * N + 1] = '"';
  for (std::size_t i = 0; i < N; ++i) {
    buf[1 + 2 * i] = kHexDigits[id[i] >> 4];
    buf[2 + 2 * i] = kHexDigits[id[i] & 15];
  }
  out.append(buf, sizeof buf);
}

void put_double(std::string& out, double d) {
  if (std::isnan(d)) out += "\"NaN\"";  // proto3 JSON's spellings of what JSON numbers cannot hold
  else if (std::isinf(d)) out += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  else put_number(out, d);  // std::to_chars: the shortest text that reads back as `d`
}

void put_value(std::string& out, const AttrValue& v) {
  if (auto* s = std::get_if<std::string_view>(&v)) {
    out += "{\"stringValue\":";
    put_str(out, *s);
  } else if (auto* i = std::get_if<std::int64_t>(&v)) {
    out += "{\"intValue\":\"";  // int64: a string
    put_number(out, *i);
    out += '"';
  } else if (auto* d = std::get_if<double>(&v)) {
    out += "{\"doubleValue\":";
    put_double(out, *d);
  } else {
    out += std::get<bool>(v) ? "{\"boolValue\":true" : "{\"boolValue\":false";
  }
  out += '}';
}

void put_key_value(std::string& out, std::string_view k, const AttrValue& v) {
  out += "{\"key\":";
  put_str(out, k);
  out += ",\"value\":";
  put_value(out, v);
  out += '}';
}

void put_span(std::string& out, const SpanData& s) {
  out += "{\"traceId\":";
  put_hex(out, s.context.trace_id);
  out += ",\"spanId\":";
  put_hex(out, s.context.span_id);
  if (!s.context.trace_state.empty()) {
    out += ",\"traceState\":";
    put_str(out, s.context.trace_state);
  }
  if (!is_zero(s.parent_span_id)) {
    out += ",\"parentSpanId\":";
    put_hex(out, s.parent_span_id);
  }
  out += ",\"name\":";
  put_str(out, s.name);
  out += ",\"kind\":";
  put_number(out, static_cast<int>(s.kind));
  // fixed64: decimal strings
  out += ",\"startTimeUnixNano\":\"";
  put_number(out, s.start_ns);
  out += "\",\"endTimeUnixNano\":\"";
  put_number(out, s.end_ns);
  out += "\",\"attributes\":[";
  auto& attributes = s.attributes();
  for (std::size_t i = 0; i < attributes.size(); ++i) {
    if (i) out += ',';
    put_key_value(out, attributes[i].key, attributes[i].value);
  }
  out += ']';
  if (s.dropped_attributes) {
    out += ",\"droppedAttributesCount\":";
    put_number(out, s.dropped_attributes);
  }
  if (!s.links.empty()) {
    out += ",\"links\":[";
    for (std::size_t i = 0; i < s.links.size(); ++i) {
      auto& c = s.links[i].context;
      if (i) out += ',';
      out += "{\"traceId\":";
      put_hex(out, c.trace_id);
      out += ",\"spanId\":";
      put_hex(out, c.span_id);
      if (!c.trace_state.empty()) {
        out += ",\"traceState\":";
        put_str(out, c.trace_state);
      }
      out += '}';
    }
    out += ']';
  }
  out += ",\"status\":{\"code\":";
  put_number(out, static_cast<int>(s.status));
  if (!s.status_message.empty()) {
    out += ",\"message\":";
    put_str(out, s.status_message);
  }
  out += "}}";
}

// The protobuf encoding (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto).
// Empty and zero fields are left out, as proto3 does.
void put_key_value(proto::Writer& w, std::uint32_t field, std::string_view k, const AttrValue& v) {
  auto kv = w.begin(field);
  w.string_field(1, k);                                                    // KeyValue.key
  auto any = w.begin(2);                                                   // KeyValue.value: AnyValue
  if (auto* s = std::get_if<std::string_view>(&v)) w.string_field(1, *s);  // string_value
  else if (auto* i = std::get_if<std::int64_t>(&v)) w.int_field(3, *i);    // int_value
  else if (auto* d = std::get_if<double>(&v)) w.double_field(4, *d);       // double_value
  else w.bool_field(2, std::get<bool>(v));                                 // bool_value
  w.end(any);
  w.end(kv);
}

void put_span(proto::Writer& w, const SpanData& s) {
  w.bytes_field(1, s.context.trace_id.data(), s.context.trace_id.size());
  w.bytes_field(2, s.context.span_id.data(), s.context.span_id.size());
  if (!s.context.trace_state.empty()) w.string_field(3, s.context.trace_state);
  if (!is_zero(s.parent_span_id)) w.bytes_field(4, s.parent_span_id.data(), s.parent_span_id.size());
  w.string_field(5, s.name);
  w.uint_field(6, static_cast<std::uint64_t>(s.kind));
  w.fixed64_field(7, s.start_ns);
  w.fixed64_field(8, s.end_ns);
  for (auto& a : s.attributes()) put_key_value(w, 9, a.key, a.value);
  if (s.dropped_attributes) w.uint_field(10, s.dropped_attributes);
  for (auto& l : s.links) {
    auto link = w.begin(13);
    w.bytes_field(1, l.context.trace_id.data(), l.context.trace_id.size());
    w.bytes_field(2, l.context.span_id.data(), l.context.span_id.size());
    if (!l.context.trace_state.empty()) w.string_field(3, l.context.trace_state);
    w.end(link);
  }
  auto status = w.begin(15);
  if (!s.status_message.empty()) w.string_field(2, s.status_message);
  if (s.status != Status::unset) w.uint_field(3, static_cast<std::uint64_t>(s.status));
  w.end(status);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, std::string_view what) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1, lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) fail(Errc::invalid_argument, fmt::format("{}: bad percent-encoding", what));
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters: what a header name may hold.
bool token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos))
      return false;
  return true;
}

void count_dropped(std::uint64_t n, const char* reason) {
  if (n) metrics::Registry::global().inc("otel_spans_dropped_total", {{"reason", reason}}, static_cast<double>(n));
}

}  // namespace

std::string otlp_json_text(const Resource& r, const std::vector<std::unique_ptr<SpanData>>& spans) {
  std::string out;
  out.reserve(512 + spans.size() * 1024);
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  for (std::size_t i = 0; i < r.attributes.size(); ++i) {
    if (i) out += ',';
    put_key_value(out, r.attributes[i].first, AttrValue(std::string_view(r.attributes[i].second)));
  }
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"mcp-kubernetes\"";
  for (auto& [k, v] : r.attributes)
    if (k == "service.version") {
      out += ",\"version\":";
      put_str(out, v);
      break;
    }
  out += "},\"spans\":[";
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i) out += ',';
    put_span(out, *spans[i]);
  }
  out += "]}]}]}";
  return out;
}

std::string otlp_proto(const Resource& r, const std::vector<std::unique_ptr<SpanData>>& spans) {
  std::string out;
  out.reserve(256 + spans.size() * 512);
  proto::Writer w(out);
  auto resource_spans = w.begin(1);  // ExportTraceServiceRequest.resource_spans
  auto resource = w.begin(1);        // ResourceSpans.resource
  for (auto& [k, v] : r.attributes) put_key_value(w, 1, k, AttrValue(std::string_view(v)));
  w.end(resource);
  auto scope_spans = w.begin(2);  // ResourceSpans.scope_spans
  auto scope = w.begin(1);        // ScopeSpans.scope: InstrumentationScope
  w.string_field(1, "mcp-kubernetes");
  for (auto& [k, v] : r.attributes)
    if (k == "service.version") {
      w.string_field(2, v);
      break;
    }
  w.end(scope);
  for (auto& sp : spans) {
    auto span = w.begin(2);  // ScopeSpans.spans
    put_span(w, *sp);
    w.end(span);
  }
  w.end(scope_spans);
  w.end(resource_spans);
  return out;
}

OtlpProtocol parse_protocol(const std::string& specific, std::string_view specific_name, const std::string& general) {
  const std::string& v = specific.empty() ? general : specific;
  if (v.empty() || v == "http/protobuf") return OtlpProtocol::protobuf;
  if (v == "http/json") return OtlpProtocol::json;
  auto name = specific.empty() ? std::string_view("OTEL_EXPORTER_OTLP_PROTOCOL") : specific_name;
  if (v == "grpc")
    fail(Errc::invalid_argument, fmt::format("{}: grpc is not supported; use http/protobuf or http/json", name));
  fail(Errc::invalid_argument, fmt::format("{} must be http/protobuf or http/json", name));
}

std::string_view content_type(OtlpProtocol p) {
  return p == OtlpProtocol::protobuf ? "application/x-protobuf" : "application/json";
}

std::uint64_t rejected_count(OtlpProtocol p, std::string_view body, std::string_view json_field) {
  // An int64 on the wire: a negative count (a broken collector) counts as none.
  auto positive = [](std::int64_t n) { return n > 0 ? static_cast<std::uint64_t>(n) : 0; };
  if (p == OtlpProtocol::protobuf) {
    std::int64_t n = 0;  // the last occurrence wins, as protobuf merges
    proto::Reader top(body);
    proto::Reader::Field f;
    while (top.next(f)) {
      if (f.number != 1 || f.wire != proto::Wire::len) continue;  // partial_success
      proto::Reader ps(f.bytes);
      proto::Reader::Field g;
      while (ps.next(g))
        if (g.number == 1 && g.wire == proto::Wire::varint) n = static_cast<std::int64_t>(g.value);
    }
    return positive(n);
  }
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return 0;
  auto* ps = v.as_object().if_contains("partialSuccess");
  if (!ps || !ps->is_object()) return 0;
  auto* n = ps->as_object().if_contains(json_field);
  if (!n) return 0;
  if (n->is_string()) {  // int64: a string in proto3 JSON
    std::int64_t v = 0;
    auto s = std::string_view(n->as_string());
    auto [end, ec2] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec2 == std::errc() && end == s.data() + s.size() ? positive(v) : 0;
  }
  if (n->is_uint64()) return n->as_uint64();
  if (n->is_int64()) return positive(n->as_int64());
  return 0;
}

json::object otlp_json(const Resource& r, const std::vector<std::unique_ptr<SpanData>>& spans) {
  return json::parse(otlp_json_text(r, spans)).as_object();
}

OtlpHttpExporter::OtlpHttpExporter(Resource r, std::string endpoint, KeyValues headers,
                                   std::chrono::milliseconds timeout, std::string ca_file, OtlpProtocol protocol)
    : resource_(std::move(r)), endpoint_(std::move(endpoint)), headers_(std::move(headers)), timeout_(timeout),
      ca_file_(std::move(ca_file)), protocol_(protocol) {
  // Fail at start-up, not at the first export.
  http_post::parse_url(endpoint_);
  check_ca_file(ca_file_);
}

bool OtlpHttpExporter::export_batch(const std::vector<std::unique_ptr<SpanData>>& spans) {
  auto url = http_post::parse_url(endpoint_);
  http_post::Headers h = headers_;
  h.emplace_back("Content-Type", std::string(content_type(protocol_)));
  h.emplace_back("User-Agent", "mcp-kubernetes-otlp");
  auto body = protocol_ == OtlpProtocol::protobuf ? otlp_proto(resource_, spans) : otlp_json_text(resource_, spans);
  // The collector's answer is small (an ExportTraceServiceResponse); 64 KiB is plenty.
  auto res = http_post::post(url, h, std::move(body), timeout_, 64 * 1024, ca_file_);
  if (res.status >= 200 && res.status < 300) {
    // A partial success names spans the collector refused; they count as dropped (at most the
    // batch: the count is the collector's word).
    count_dropped(std::min<std::uint64_t>(rejected_count(protocol_, res.body, "rejectedSpans"), spans.size()),
                  "rejected");
    return true;
  }
  // Rate-limited and once per failure burst would be nicer; debug keeps a dead collector quiet.
  log::debug("trace export to {} failed: {}", endpoint_, res.status ? fmt::format("HTTP {}", res.status) : res.error);
  return false;
}

bool StreamExporter::export_batch(const std::vector<std::unique_ptr<SpanData>>& spans) {
  auto line = otlp_json_text(resource_, spans);
  line += '\n';
  return std::fwrite(line.data(), 1, line.size(), out_) == line.size() && std::fflush(out_) == 0;
}

BatchProcessor::BatchProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions opts)
    : exporter_(std::move(exporter)), opts_(opts) {
  opts_.max_batch = std::max<std::size_t>(1, std::min(opts_.max_batch, opts_.max_queue));
  max_pooled_ = opts_.max_batch;
  pool_.reserve(max_pooled_);
  thread_ = std::thread([this] { run(); });
}

BatchProcessor::~BatchProcessor() { shutdown(); }

void BatchProcessor::on_end(std::unique_ptr<SpanData> span) {
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    if (stop_ || queue_.size() >= opts_.max_queue) {
      ++dropped_;
      count_dropped(1, stop_ ? "shutdown" : "queue_full");
      return;
    }
    queue_.push_back(std::move(span));
    wake = queue_.size() >= opts_.max_batch;
  }
  if (wake) cv_.notify_one();
}

std::unique_ptr<SpanData> BatchProcessor::make_span_data() {
  {
    std::lock_guard lk(mu_);
    if (!pool_.empty()) {
      auto d = std::move(pool_.back());
      pool_.pop_back();
      return d;
    }
  }
  return std::make_unique<SpanData>();
}

void BatchProcessor::flush() {
  {
    std::lock_guard lk(mu_);
    flush_ = true;
  }
  cv_.notify_one();
}

void BatchProcessor::shutdown() {
  {
    std::lock_guard lk(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t BatchProcessor::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

std::uint64_t BatchProcessor::exported() const {
  std::lock_guard lk(mu_);
  return exported_;
}

void BatchProcessor::run() {
  // Named, so `top -H`, perf and /proc/<pid>/task tell its CPU from the I/O thread's.
  pthread_setname_np(pthread_self(), "otel-export");
  auto deadline = std::chrono::steady_clock::now() + opts_.delay;
  std::chrono::steady_clock::time_point stop_by{};
  for (;;) {
    std::vector<std::unique_ptr<SpanData>> batch;
    bool stopping = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_until(lk, deadline, [&] { return stop_ || flush_ || queue_.size() >= opts_.max_batch; });
      stopping = stop_;
      bool due = std::chrono::steady_clock::now() >= deadline || flush_ || stop_;
      if (queue_.size() >= opts_.max_batch || (due && !queue_.empty())) {
        auto n = std::min(queue_.size(), opts_.max_batch);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (queue_.empty()) flush_ = false;
      if (due) deadline = std::chrono::steady_clock::now() + opts_.delay;
    }
    if (stopping && stop_by == std::chrono::steady_clock::time_point{})
      stop_by = std::chrono::steady_clock::now() + opts_.shutdown_wait;
    if (!batch.empty()) {
      bool ok = false;
      try {
        ok = exporter_->export_batch(batch);
      } catch (const std::exception& e) {
        log::debug("trace export failed: {}", e.what());
      }
      for (auto& d : batch) d->reset();  // outside the lock
      std::lock_guard lk(mu_);
      if (ok) exported_ += batch.size();
      else dropped_ += batch.size();
      for (auto& d : batch)
        if (pool_.size() < max_pooled_) pool_.push_back(std::move(d));
      if (ok) metrics::Registry::global().inc("otel_spans_exported_total", {}, static_cast<double>(batch.size()));
      else count_dropped(batch.size(), "export_failed");
    }
    if (stopping) {
      std::lock_guard lk(mu_);
      // Past the shutdown budget what is left is dropped, so a dead collector cannot hold exit.
      if (queue_.empty() || std::chrono::steady_clock::now() >= stop_by) {
        dropped_ += queue_.size();
        count_dropped(queue_.size(), "shutdown");
        queue_.clear();
        return;
      }
    }
  }
}

KeyValues parse_key_values(std::string_view s, std::string_view what) {
  KeyValues out;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto item = trim(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos || trim(item.substr(0, eq)).empty())
      fail(Errc::invalid_argument, fmt::format("{}: entries must be key=value", what));
    out.emplace_back(percent_decode(trim(item.substr(0, eq)), what), percent_decode(trim(item.substr(eq + 1)), what));
  }
  return out;
}

void apply_env(TracingSettings& s, const std::function<const char*(const char*)>& getenv) {
  auto env = [&](const char* name, std::string& field) {
    if (const char* v = getenv(name); v && *v && field.empty()) field = v;
  };
  env("INSTRUMENTATION_ENABLED", s.instrumentation_enabled);
  env("TRACING_EXPORTER", s.exporter);
  env("OTEL_EXPORTER_OTLP_ENDPOINT", s.endpoint);
  env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", s.traces_endpoint);
  env("OTEL_EXPORTER_OTLP_HEADERS", s.headers);
  env("OTEL_EXPORTER_OTLP_CERTIFICATE", s.certificate);
  env("OTEL_EXPORTER_OTLP_PROTOCOL", s.protocol);
  env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", s.traces_protocol);
  env("OTEL_SERVICE_NAME", s.service_name);
  env("OTEL_RESOURCE_ATTRIBUTES", s.resource_attributes);
  env("OTEL_TRACES_SAMPLER", s.sampler);
  env("OTEL_TRACES_SAMPLER_ARG", s.sampler_arg);
  env("PROPAGATE_TRACE_TO_APISERVER", s.propagate_to_apiserver);
  auto millis = [&](const char* name, std::chrono::milliseconds& field, long lo, long hi) {
    if (const char* v = getenv(name); v && *v) {
      char* end = nullptr;
      long n = std::strtol(v, &end, 10);
      if (*end || n < lo || n > hi) fail(Errc::invalid_argument, fmt::format("{} must be {}..{}", name, lo, hi));
      field = std::chrono::milliseconds(n);
    }
  };
  millis("OTEL_EXPORTER_OTLP_TIMEOUT", s.timeout, 1, 600000);
  millis("OTEL_BSP_SCHEDULE_DELAY", s.batch.delay, 1, 600000);
  auto count = [&](const char* name, std::size_t& field, long lo, long hi) {
    std::chrono::milliseconds m(static_cast<long>(field));
    millis(name, m, lo, hi);
    field = static_cast<std::size_t>(m.count());
  };
  // Upper bounds: the queue is memory held while a collector is away.
  count("OTEL_BSP_MAX_QUEUE_SIZE", s.batch.max_queue, 1, 1 << 20);
  count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", s.batch.max_batch, 1, 1 << 16);
}

Tracing make_tracing(const TracingSettings& s, const std::string& service_version, bool stdout_is_protocol) {
  Tracing t;
  std::string exporter_name = s.exporter.empty() ? "none" : s.exporter;
  if (exporter_name != "none" && exporter_name != "otlp" && exporter_name != "stdout")
    fail(Errc::invalid_argument,
         fmt::format("TRACING_EXPORTER must be otlp, stdout or none (got \"{}\")", exporter_name));
  const auto& on = s.instrumentation_enabled;
  if (!on.empty() && on != "true" && on != "false" && on != "1" && on != "0")
    fail(Errc::invalid_argument, "INSTRUMENTATION_ENABLED must be true or false");
  std::string err;
  auto sampler = Sampler::from_names(s.sampler, s.sampler_arg, &err);
  if (!err.empty()) fail(Errc::invalid_argument, err);
  const auto& prop = s.propagate_to_apiserver;
  if (!prop.empty() && prop != "true" && prop != "false" && prop != "1" && prop != "0")
    fail(Errc::invalid_argument, "PROPAGATE_TRACE_TO_APISERVER must be true or false");
  set_propagate_to_apiserver(prop == "true" || prop == "1");
  if (on == "false" || on == "0" || exporter_name == "none") return t;

  std::unique_ptr<SpanExporter> exporter;
  if (exporter_name == "stdout") {
    exporter =
        std::make_unique<StreamExporter>(make_resource(s, service_version), stdout_is_protocol ? stderr : stdout);
  } else {
    // Checked only here: OTEL_EXPORTER_OTLP_PROTOCOL is often set pod-wide for other programs,
    // and must not stop a server that exports nothing over OTLP.
    auto protocol = parse_protocol(s.traces_protocol, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", s.protocol);
    exporter = std::make_unique<OtlpHttpExporter>(make_resource(s, service_version),
                                                  signal_url(s.traces_endpoint, s.endpoint, "/v1/traces"),
                                                  export_headers(s), s.timeout, s.certificate, protocol);
  }
  t.processor = std::make_shared<BatchProcessor>(std::move(exporter), s.batch);
  t.tracer = std::make_shared<Tracer>(sampler, t.processor);
  return t;
}

Resource make_resource(const TracingSettings& s, const std::string& service_version) {
  Resource r;
  auto extra = parse_key_values(s.resource_attributes, "OTEL_RESOURCE_ATTRIBUTES");
  std::string service = s.service_name;
  for (auto& [k, v] : extra)
    if (k == "service.name" && service.empty()) service = v;
  r.attributes.emplace_back("service.name", service.empty() ? "mcp-kubernetes" : service);
  bool has_version = false;
  for (auto& kv : extra) {
    has_version |= kv.first == "service.version";
    if (kv.first != "service.name") r.attributes.push_back(kv);
  }
  if (!has_version) r.attributes.emplace_back("service.version", service_version);
  r.attributes.emplace_back("telemetry.sdk.name", "mcp-kubernetes");
  r.attributes.emplace_back("telemetry.sdk.language", "cpp");
  r.attributes.emplace_back("telemetry.sdk.version", service_version);
  return r;
}

void check_ca_file(const std::string& path) {
  if (path.empty()) return;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(Errc::invalid_argument, fmt::format("OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read {}", path));
  std::fclose(f);
}

KeyValues export_headers(const TracingSettings& s) {
  auto headers = parse_key_values(s.headers, "OTEL_EXPORTER_OTLP_HEADERS");
  for (auto& [k, v] : headers) {
    // Values go into HTTP headers: refuse what would split or forge one.
    if (!token(k) || v.find_first_of("\r\n") != std::string::npos || v.find('\0') != std::string::npos)
      fail(Errc::invalid_argument, "OTEL_EXPORTER_OTLP_HEADERS: bad header name or value");
  }
  return headers;
}

std::string signal_url(const std::string& specific, const std::string& base_in, std::string_view path) {
  if (!specific.empty()) return specific;
  std::string base = base_in.empty() ? "http://localhost:4318" : base_in;
  // The seed took host:port; a bare one means plain http here.
  if (base.find("://") == std::string::npos) base = "http://" + base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(path);
}

void register_trace_metrics() {
  auto& r = metrics::Registry::global();
  r.describe("otel_spans_exported_total", "counter", "Trace spans delivered to the exporter's destination.");
  r.describe("otel_spans_dropped_total", "counter",
             "Trace spans dropped by reason: queue_full (collector too slow or away), export_failed, rejected (by "
             "the collector), shutdown.");
  r.inc("otel_spans_exported_total", {}, 0);
  r.inc("otel_spans_dropped_total", {{"reason", "queue_full"}}, 0);
  r.inc("otel_spans_dropped_total", {{"reason", "export_failed"}}, 0);
}

}  // namespace mk::trace
