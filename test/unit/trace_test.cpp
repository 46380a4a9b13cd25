// Tracing: W3C traceparent/tracestate parsing (strict), which context parents a call, the
// samplers, span bounds, the OTLP/JSON shape of an exported batch, the batch processor's queue
// bound and drop counting (fake exporters), settings parsing, and the API path templates that
// name Kubernetes client spans.
#include "instrumentation/trace.hpp"
#include "instrumentation/metrics.hpp"
#include "instrumentation/metrics_export.hpp"
#include "instrumentation/propagation.hpp"
#include "instrumentation/trace_export.hpp"
#include "k8s/api_transport.hpp"
#include "util/error.hpp"
#include "util/http_post.hpp"

#include "temp_dir.hpp"
#include "test_pki.hpp"

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace json = boost::json;
namespace http = boost::beast::http;
using namespace mk::trace;

namespace {

constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpanId = "00f067aa0ba902b7";

std::string tp(std::string version, std::string trace, std::string span, std::string flags) {
  return version + "-" + trace + "-" + span + "-" + flags;
}

TEST(Traceparent, ParsesValidVersion00) {
  auto c = parse_traceparent(tp("00", kTraceId, kSpanId, "01"));
  ASSERT_TRUE(c);
  EXPECT_EQ(to_hex(c->trace_id), kTraceId);
  EXPECT_EQ(to_hex(c->span_id), kSpanId);
  EXPECT_TRUE(c->sampled());
  EXPECT_TRUE(c->remote);
  EXPECT_EQ(format_traceparent(*c), tp("00", kTraceId, kSpanId, "01"));
  auto u = parse_traceparent(tp("00", kTraceId, kSpanId, "00"));
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->sampled());
}

// Log lines name the trace only when there is one to find: a sampled context.
TEST(LogFields, OnlySampledContextsNameATrace) {
  auto c = *mk::trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(mk::trace::log_fields(c), " trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7");
  c.flags = 0;
  EXPECT_EQ(mk::trace::log_fields(c), "");
  EXPECT_EQ(mk::trace::log_fields(mk::trace::SpanContext{}), "");
}

TEST(Traceparent, RefusesBadVersions) {
  EXPECT_FALSE(parse_traceparent(tp("ff", kTraceId, kSpanId, "01")));  // forbidden version
  EXPECT_FALSE(parse_traceparent(tp("0g", kTraceId, kSpanId, "01")));
  EXPECT_FALSE(parse_traceparent(tp("0", kTraceId, kSpanId, "01")));
  // Version 00 has exactly four fields.
  EXPECT_FALSE(parse_traceparent(tp("00", kTraceId, kSpanId, "01") + "-extra"));
  // A later version may add fields after a dash, and is read by its version-00 prefix...
  auto later = parse_traceparent(tp("cc", kTraceId, kSpanId, "01") + "-what-the-future-holds");
  ASSERT_TRUE(later);
  EXPECT_EQ(to_hex(later->trace_id), kTraceId);
  // ...but not glued on.
  EXPECT_FALSE(parse_traceparent(tp("cc", kTraceId, kSpanId, "01") + "x"));
}

TEST(Traceparent, RefusesAllZeroIds) {
  EXPECT_FALSE(parse_traceparent(tp("00", std::string(32, '0'), kSpanId, "01")));
  EXPECT_FALSE(parse_traceparent(tp("00", kTraceId, std::string(16, '0'), "01")));
}

TEST(Traceparent, RefusesUppercaseHex) {
  EXPECT_FALSE(parse_traceparent(tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kSpanId, "01")));
  EXPECT_FALSE(parse_traceparent(tp("00", kTraceId, "00F067AA0BA902B7", "01")));
  EXPECT_FALSE(parse_traceparent(tp("00", kTraceId, kSpanId, "0A")));
}

TEST(Traceparent, RefusesWrongLengthsAndShapes) {
  EXPECT_FALSE(parse_traceparent(""));
  EXPECT_FALSE(parse_traceparent(tp("00", std::string(kTraceId).substr(1), kSpanId, "01")));
  EXPECT_FALSE(parse_traceparent(tp("00", kTraceId, std::string(kSpanId) + "0", "01")));
  EXPECT_FALSE(parse_traceparent(tp("00", kTraceId, kSpanId, "1")));
  EXPECT_FALSE(parse_traceparent(std::string("00_") + kTraceId + "-" + kSpanId + "-01"));
  EXPECT_FALSE(parse_traceparent(std::string(" 00-") + kTraceId + "-" + kSpanId + "-01"));
}

TEST(Tracestate, KeepsValidAndRefusesInvalidWhole) {
  EXPECT_EQ(sanitize_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(sanitize_tracestate(" rojo=1 , ,t@vendor=x"), "rojo=1,t@vendor=x");
  EXPECT_EQ(sanitize_tracestate("Rojo=1"), "");        // keys are lowercase
  EXPECT_EQ(sanitize_tracestate("rojo"), "");          // no value
  EXPECT_EQ(sanitize_tracestate("rojo=a,b=c=d"), "");  // '=' in a value
  EXPECT_EQ(sanitize_tracestate("rojo=\x01"), "");     // control character
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_EQ(sanitize_tracestate(many), "");  // 33 members
  EXPECT_EQ(sanitize_tracestate("a=" + std::string(600, 'x')), "");
}

TEST(Extract, MetaWinsAndTheTransportContextBecomesALink) {
  std::string meta = tp("00", kTraceId, kSpanId, "01");
  std::string header = tp("00", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "01");
  auto both = extract(meta, "a=1", header, "");
  ASSERT_TRUE(both.parent);
  EXPECT_EQ(to_hex(both.parent->span_id), kSpanId);
  EXPECT_EQ(both.parent->trace_state, "a=1");
  ASSERT_TRUE(both.link);
  EXPECT_EQ(to_hex(both.link->span_id), "b7ad6b7169203331");

  auto header_only = extract("", "", header, "");
  ASSERT_TRUE(header_only.parent);
  EXPECT_EQ(to_hex(header_only.parent->span_id), "b7ad6b7169203331");
  EXPECT_FALSE(header_only.link);

  auto bad_meta = extract("garbage", "", header, "");  // an invalid primary does not hide the header
  ASSERT_TRUE(bad_meta.parent);
  EXPECT_EQ(to_hex(bad_meta.parent->span_id), "b7ad6b7169203331");

  auto same = extract(meta, "", meta, "");
  EXPECT_TRUE(same.parent);
  EXPECT_FALSE(same.link);
  EXPECT_FALSE(extract("", "", "nope", "").parent);
}

TraceId id_with_low(std::uint64_t low) {
  TraceId id{};
  id[0] = 1;
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<std::uint8_t>(low >> (8 * i));
  return id;
}

TEST(Sampler, Decisions) {
  auto low = id_with_low(0), high = id_with_low(~std::uint64_t{0});
  EXPECT_TRUE(Sampler(Sampler::Kind::always_on, 1).should_sample(nullptr, high));
  EXPECT_FALSE(Sampler(Sampler::Kind::always_off, 0).should_sample(nullptr, low));
  Sampler half(Sampler::Kind::ratio, 0.5);
  EXPECT_TRUE(half.should_sample(nullptr, low));
  EXPECT_FALSE(half.should_sample(nullptr, high));
  EXPECT_TRUE(half.should_sample(nullptr, id_with_low(0x7fffffffffffffffull)));   // (x>>1) just below 2^62
  EXPECT_FALSE(half.should_sample(nullptr, id_with_low(0x8000000000000000ull)));  // exactly 2^62
  EXPECT_FALSE(Sampler(Sampler::Kind::ratio, 0).should_sample(nullptr, low));
  EXPECT_TRUE(Sampler(Sampler::Kind::ratio, 1).should_sample(nullptr, high));

  auto sampled = *parse_traceparent(tp("00", kTraceId, kSpanId, "01"));
  auto unsampled = *parse_traceparent(tp("00", kTraceId, kSpanId, "00"));
  Sampler parent_none(Sampler::Kind::parent_ratio, 0);
  EXPECT_TRUE(parent_none.should_sample(&sampled, high));  // the caller's decision wins
  EXPECT_FALSE(parent_none.should_sample(nullptr, low));   // a root: ratio 0
  Sampler parent_all(Sampler::Kind::parent_ratio, 1);
  EXPECT_FALSE(parent_all.should_sample(&unsampled, low));
  EXPECT_TRUE(parent_all.should_sample(nullptr, high));
  // A non-parent-based ratio ignores the caller's flag (an operator who does not trust it).
  EXPECT_FALSE(Sampler(Sampler::Kind::ratio, 0).should_sample(&sampled, low));
}

TEST(Sampler, FromEnvironmentNames) {
  std::string err;
  auto d = Sampler::from_names("", "", &err);
  EXPECT_TRUE(err.empty());
  EXPECT_EQ(d.kind(), Sampler::Kind::parent_ratio);
  EXPECT_EQ(d.ratio(), 1.0);
  auto r = Sampler::from_names("traceidratio", "0.25", &err);
  EXPECT_TRUE(err.empty());
  EXPECT_EQ(r.kind(), Sampler::Kind::ratio);
  EXPECT_EQ(r.ratio(), 0.25);
  EXPECT_EQ(Sampler::from_names("parentbased_always_off", "", &err).kind(), Sampler::Kind::parent_always_off);
  Sampler::from_names("bogus", "", &err);
  EXPECT_NE(err.find("unknown sampler"), std::string::npos);
  err.clear();
  Sampler::from_names("traceidratio", "2", &err);
  EXPECT_NE(err.find("0 to 1"), std::string::npos);
  err.clear();
  Sampler::from_names("traceidratio", "0.5x", &err);
  EXPECT_FALSE(err.empty());
}

struct CollectSink : SpanSink {
  std::vector<std::unique_ptr<SpanData>> spans;
  void on_end(std::unique_ptr<SpanData> s) override { spans.push_back(std::move(s)); }
};

// 100 distinct literal keys "k00".."k99" (attribute keys must be literals).
struct KeyNames {
  char v[100][4];
};
constexpr KeyNames make_keys() {
  KeyNames k{};
  for (int i = 0; i < 100; ++i) {
    k.v[i][0] = 'k';
    k.v[i][1] = static_cast<char>('0' + i / 10);
    k.v[i][2] = static_cast<char>('0' + i % 10);
    k.v[i][3] = 0;
  }
  return k;
}
constexpr KeyNames kKeys = make_keys();

TEST(Tracer, ChildOfRemoteParentAndBounds) {
  auto sink = std::make_shared<CollectSink>();
  Tracer t(Sampler(), sink);
  auto parent = *parse_traceparent(tp("00", kTraceId, kSpanId, "01"));
  parent.trace_state = "a=1";
  {
    auto s = t.start("tools/call k8s_get", SpanKind::server, &parent);
    ASSERT_TRUE(s.recording());
    EXPECT_EQ(to_hex(s.context().trace_id), kTraceId);
    EXPECT_NE(to_hex(s.context().span_id), kSpanId);
    [&]<std::size_t... I>(std::index_sequence<I...>) { (s.set(kKeys.v[I], static_cast<int>(I)), ...); }
    (std::make_index_sequence<100>{});
    s.set("k00", std::string(5000, 'x'));  // replaces, capped
  }
  ASSERT_EQ(sink->spans.size(), 1u);
  auto& d = *sink->spans[0];
  EXPECT_EQ(to_hex(d.parent_span_id), kSpanId);
  EXPECT_EQ(d.context.trace_state, "a=1");
  EXPECT_EQ(d.attributes().size(), kMaxAttributes);
  EXPECT_EQ(d.dropped_attributes, 100 - kMaxAttributes);
  EXPECT_EQ(std::get<std::string_view>(d.attributes()[0].value).size(), kMaxAttributeValue);
  EXPECT_GE(d.end_ns, d.start_ns);

  auto unsampled = *parse_traceparent(tp("00", kTraceId, kSpanId, "00"));
  auto n = t.start("x", SpanKind::server, &unsampled);
  EXPECT_FALSE(n.recording());
  EXPECT_FALSE(n.context().sampled());
  n.end();
  EXPECT_EQ(sink->spans.size(), 1u);

  auto root = t.start("root", SpanKind::internal, nullptr);
  EXPECT_TRUE(root.recording());
  EXPECT_NE(to_hex(root.context().trace_id), kTraceId);
}

TEST(SpanData, TextIsBoundedAndCutOnlyBetweenCodePoints) {
  SpanData d;
  // "é" is two bytes: a cut at kMaxAttributeValue would fall inside the last one.
  std::string accents;
  while (accents.size() < kMaxAttributeValue + 10) accents += "\xc3\xa9";
  accents = "x" + accents;
  d.set("a", std::string_view(accents));
  auto a = std::get<std::string_view>(*d.find("a"));
  EXPECT_EQ(a.size(), kMaxAttributeValue - 1);  // backs off to the code point's start
  EXPECT_TRUE(json::parse(json::serialize(json::string(a))).is_string());
  // Setting one key again and again keeps old text in the arena: the span's total is bounded.
  std::string k(kMaxAttributeValue, 'v');
  std::size_t kept = 0;
  for (int i = 0; i < 100; ++i) {
    auto before = d.dropped_attributes;
    d.set("b", std::string_view(k));
    kept += d.dropped_attributes == before;
  }
  EXPECT_LE(kept * kMaxAttributeValue + a.size(), kMaxSpanText);
  EXPECT_GT(d.dropped_attributes, 0u);
  // A value that no longer fits is dropped rather than exported with its old value.
  EXPECT_EQ(d.attributes().size(), 1u);
  EXPECT_EQ(d.find("b"), nullptr);
  d.set("n", std::int64_t{7});  // numbers need no text
  EXPECT_EQ(std::get<std::int64_t>(*d.find("n")), 7);
  EXPECT_EQ(d.find("c"), nullptr);
}

TEST(Otlp, IllFormedUtf8BecomesReplacementCharacters) {
  std::vector<std::unique_ptr<SpanData>> batch;
  batch.push_back(std::make_unique<SpanData>());
  // Cut mid code point, a stray continuation byte, an overlong '/', a surrogate, beyond U+10FFFF,
  // Latin-1; then well-formed 2-, 3- and 4-byte sequences, which pass unchanged.
  std::string bad = "a\xc3|\x80|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|caf\xe9|";
  std::string good = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  batch[0]->set("q", std::string_view(bad + good));
  batch[0]->name = "n\xff";
  auto text = otlp_json_text({{{"service.name", "s\xfe"}}}, batch);
  auto v = json::parse(text);  // boost::json refuses ill-formed UTF-8: this would throw
  auto& sp = v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
  std::string q(sp.at("attributes").at(0).at("value").at("stringValue").as_string());
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(q, "a" + r + "|" + r + "|" + r + r + "|" + r + r + r + "|" + r + r + r + r + "|caf" + r + "|" + good);
  EXPECT_EQ(std::string(sp.at("name").as_string()), "n" + r);
}

TEST(Otlp, DroppedAttributesAreCounted) {
  std::vector<std::unique_ptr<SpanData>> batch;
  batch.push_back(std::make_unique<SpanData>());
  batch.push_back(std::make_unique<SpanData>());
  [&]<std::size_t... I>(std::index_sequence<I...>) { (batch[0]->set(kKeys.v[I], std::int64_t{1}), ...); }
  (std::make_index_sequence<70>{});
  auto v = json::parse(otlp_json_text({{{"service.name", "s"}}}, batch));
  auto& spans = v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans");
  EXPECT_EQ(spans.at(0).at("droppedAttributesCount"), 70 - static_cast<int>(kMaxAttributes));
  EXPECT_FALSE(spans.at(1).as_object().contains("droppedAttributesCount"));
}

TEST(Otlp, JsonShapeFollowsTheSpec) {
  std::vector<std::unique_ptr<SpanData>> batch;
  auto s = std::make_unique<SpanData>();
  s->context = *parse_traceparent(tp("00", kTraceId, kSpanId, "01"));
  s->context.trace_state = "a=1";
  s->parent_span_id = parse_traceparent(tp("00", kTraceId, "b7ad6b7169203331", "01"))->span_id;
  s->name = "tools/call k8s_get";
  s->kind = SpanKind::server;
  s->start_ns = 1700000000000000001ull;  // beyond 2^53: why int64s are strings in OTLP/JSON
  s->end_ns = 1700000000500000000ull;
  s->set("s", std::string_view("v"));
  s->set("i", std::int64_t{42});
  s->set("d", 1.5);
  s->set("b", true);
  s->links.push_back({*parse_traceparent(tp("00", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "01"))});
  s->status = Status::error;
  s->status_message = "Forbidden: no";
  batch.push_back(std::move(s));
  auto root = std::make_unique<SpanData>();
  root->context = *parse_traceparent(tp("00", kTraceId, "1111111111111111", "01"));
  root->name = "root";
  batch.push_back(std::move(root));

  Resource r{{{"service.name", "mcp-kubernetes"}, {"service.version", "1.2.3"}}};
  auto v = json::value(otlp_json(r, batch));
  auto& rs = v.at("resourceSpans").at(0);
  EXPECT_EQ(rs.at("resource").at("attributes").at(0),
            json::parse(R"({"key":"service.name","value":{"stringValue":"mcp-kubernetes"}})"));
  auto& ss = rs.at("scopeSpans").at(0);
  EXPECT_EQ(ss.at("scope").at("name"), "mcp-kubernetes");
  EXPECT_EQ(ss.at("scope").at("version"), "1.2.3");
  auto& sp = ss.at("spans").at(0);
  EXPECT_EQ(sp.at("traceId"), kTraceId);  // lowercase hex, not base64
  EXPECT_EQ(sp.at("spanId"), kSpanId);
  EXPECT_EQ(sp.at("parentSpanId"), "b7ad6b7169203331");
  EXPECT_EQ(sp.at("traceState"), "a=1");
  EXPECT_EQ(sp.at("name"), "tools/call k8s_get");
  EXPECT_EQ(sp.at("kind"), 2);  // an enum is its integer
  EXPECT_EQ(sp.at("startTimeUnixNano"), "1700000000000000001");
  EXPECT_EQ(sp.at("endTimeUnixNano"), "1700000000500000000");
  auto attrs = sp.at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 4u);
  EXPECT_EQ(attrs[0], json::parse(R"({"key":"s","value":{"stringValue":"v"}})"));
  EXPECT_EQ(attrs[1], json::parse(R"({"key":"i","value":{"intValue":"42"}})"));
  EXPECT_EQ(attrs[2], json::parse(R"({"key":"d","value":{"doubleValue":1.5}})"));
  EXPECT_EQ(attrs[3], json::parse(R"({"key":"b","value":{"boolValue":true}})"));
  EXPECT_EQ(sp.at("links").at(0).at("traceId"), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(sp.at("status"), json::parse(R"({"code":2,"message":"Forbidden: no"})"));
  auto& r2 = ss.at("spans").at(1);
  EXPECT_FALSE(r2.as_object().contains("parentSpanId"));  // a root has none
  EXPECT_FALSE(r2.as_object().contains("links"));
  EXPECT_EQ(r2.at("status"), json::parse(R"({"code":0})"));
}

TEST(Otlp, TextEscapesWhatJsonMust) {
  std::vector<std::unique_ptr<SpanData>> batch;
  auto s = std::make_unique<SpanData>();
  s->context = *parse_traceparent(tp("00", kTraceId, kSpanId, "01"));
  s->name = "n\"ame";
  std::string nasty = "a\"b\\c\nd\x01\x7f\xc3\xa9";
  s->set("q", std::string_view(nasty));
  s->set("wait", 0.25);
  s->set("big", std::int64_t{-9007199254740993});
  s->status = Status::error;
  s->status_message = "line\r\nbreak";
  batch.push_back(std::move(s));
  auto text = otlp_json_text({{{"service.name", "s\"vc"}}}, batch);
  auto v = json::parse(text);  // valid JSON
  auto& sp = v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_EQ(sp.at("name"), "n\"ame");
  EXPECT_EQ(sp.at("attributes").at(0).at("value").at("stringValue"), nasty.c_str());
  EXPECT_EQ(sp.at("attributes").at(1).at("value").at("doubleValue"), 0.25);
  EXPECT_EQ(sp.at("attributes").at(2).at("value").at("intValue"), "-9007199254740993");
  EXPECT_EQ(sp.at("status").at("message"), "line\r\nbreak");
  EXPECT_EQ(v.at("resourceSpans").at(0).at("resource").at("attributes").at(0).at("value").at("stringValue"), "s\"vc");
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one line per batch for the stdout exporter
}

// An exporter that blocks until released, counting what it got.
struct GateExporter : SpanExporter {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false, entered = false, result = true;
  std::size_t got = 0;
  bool export_batch(const std::vector<std::unique_ptr<SpanData>>& spans) override {
    std::unique_lock lk(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lk, [&] { return open; });
    got += spans.size();
    return result;
  }
};

std::unique_ptr<SpanData> span_data() {
  auto s = std::make_unique<SpanData>();
  s->context.trace_id = random_trace_id();
  s->context.span_id = random_span_id();
  return s;
}

double metric(const std::string& series) {
  auto text = mk::metrics::Registry::global().render();
  auto p = text.find("\n" + series + " ");
  if (p == std::string::npos) return 0;
  return std::stod(text.substr(p + series.size() + 2));
}

TEST(BatchProcessor, BoundedQueueDropsAndCountsWhileTheExporterIsStuck) {
  register_trace_metrics();
  double before = metric(R"(otel_spans_dropped_total{reason="queue_full"})");
  auto gate = std::make_unique<GateExporter>();
  auto* g = gate.get();
  BatchProcessor p(std::move(gate), {.max_queue = 4, .max_batch = 2, .delay = std::chrono::hours(1)});
  p.on_end(span_data());
  p.on_end(span_data());  // a full batch: the thread takes both and blocks in the exporter
  {
    std::unique_lock lk(g->mu);
    g->cv.wait(lk, [&] { return g->entered; });
  }
  for (int i = 0; i < 7; ++i) p.on_end(span_data());  // 4 fit in the queue, 3 are dropped
  EXPECT_EQ(p.dropped(), 3u);
  EXPECT_EQ(metric(R"(otel_spans_dropped_total{reason="queue_full"})") - before, 3);
  {
    std::lock_guard lk(g->mu);
    g->open = true;
  }
  g->cv.notify_all();
  p.shutdown();  // exports what is queued
  EXPECT_EQ(p.exported(), 6u);
  EXPECT_EQ(g->got, 6u);
  p.on_end(span_data());  // after shutdown: dropped, never blocks
  EXPECT_EQ(p.dropped(), 4u);
}

TEST(BatchProcessor, FailedExportsAreDroppedAndCounted) {
  register_trace_metrics();
  double before = metric(R"(otel_spans_dropped_total{reason="export_failed"})");
  auto gate = std::make_unique<GateExporter>();
  gate->open = true;
  gate->result = false;
  BatchProcessor p(std::move(gate), {.max_queue = 16, .max_batch = 16, .delay = std::chrono::hours(1)});
  for (int i = 0; i < 5; ++i) p.on_end(span_data());
  p.shutdown();
  EXPECT_EQ(p.exported(), 0u);
  EXPECT_EQ(p.dropped(), 5u);
  EXPECT_EQ(metric(R"(otel_spans_dropped_total{reason="export_failed"})") - before, 5);
}

// Notes which SpanData it exported.
struct AddressExporter : SpanExporter {
  std::mutex mu;
  std::vector<const SpanData*> seen;
  bool export_batch(const std::vector<std::unique_ptr<SpanData>>& spans) override {
    std::lock_guard lk(mu);
    for (auto& s : spans) seen.push_back(s.get());
    return true;
  }
};

TEST(BatchProcessor, ExportedSpansAreReusedClean) {
  auto exporter = std::make_unique<AddressExporter>();
  auto* seen = exporter.get();
  auto p = std::make_shared<BatchProcessor>(
      std::move(exporter), BatchOptions{.max_queue = 16, .max_batch = 1, .delay = std::chrono::hours(1)});
  Tracer t(Sampler(), p);
  {
    auto s = t.start("first", SpanKind::server, nullptr);
    for (int i = 0; i < 20; ++i) s.set("big", std::string(kMaxAttributeValue, 'x'));  // fills the text budget
    s.set("n", 1);
    s.set_status(Status::error, "bad");
  }
  for (int i = 0; i < 500 && p->exported() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(p->exported(), 1u);
  auto d = p->make_span_data();  // the exported one, back from the pool
  {
    std::lock_guard lk(seen->mu);
    ASSERT_EQ(seen->seen.size(), 1u);
    EXPECT_EQ(d.get(), seen->seen[0]);
  }
  EXPECT_TRUE(d->attributes().empty());
  EXPECT_EQ(d->dropped_attributes, 0u);
  EXPECT_TRUE(d->name.empty());
  EXPECT_EQ(d->status, Status::unset);
  EXPECT_TRUE(d->status_message.empty());
  EXPECT_TRUE(is_zero(d->context.trace_id));
  // Its text budget is whole again.
  std::string y(kMaxAttributeValue, 'y');
  for (int i = 0; i < 16; ++i) d->set("v", std::string_view(y));
  EXPECT_EQ(d->dropped_attributes, 0u);
  EXPECT_EQ(std::get<std::string_view>(*d->find("v")), y);
  p->shutdown();
}

TEST(OtlpHttpExporter, ClosedPortFailsTheBatchWithoutThrowing) {
  // A port nobody listens on: bind one, note it, close it.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = a.local_endpoint().port();
  a.close();
  OtlpHttpExporter e({{{"service.name", "t"}}}, "http://127.0.0.1:" + std::to_string(port) + "/v1/traces", {},
                     std::chrono::seconds(5), "", OtlpProtocol::protobuf);
  std::vector<std::unique_ptr<SpanData>> batch;
  batch.push_back(span_data());
  EXPECT_FALSE(e.export_batch(batch));
}

TEST(Settings, KeyValuesAndEnvironment) {
  auto kv = parse_key_values("a=b, c = d%2Ce ,,", "X");
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv[1], (std::pair<std::string, std::string>{"c", "d,e"}));
  EXPECT_THROW(parse_key_values("novalue", "X"), mk::Error);
  EXPECT_THROW(parse_key_values("a=%zz", "X"), mk::Error);

  std::map<std::string, std::string> env{{"TRACING_EXPORTER", "otlp"},
                                         {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"},
                                         {"OTEL_TRACES_SAMPLER_ARG", "0.5"},
                                         {"OTEL_BSP_MAX_QUEUE_SIZE", "100"}};
  auto get = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  TracingSettings s;
  s.sampler_arg = "0.1";  // a flag wins over the environment
  apply_env(s, get);
  EXPECT_EQ(s.exporter, "otlp");
  EXPECT_EQ(s.endpoint, "http://127.0.0.1:4318");
  EXPECT_EQ(s.sampler_arg, "0.1");
  EXPECT_EQ(s.batch.max_queue, 100u);
  env["OTEL_BSP_MAX_QUEUE_SIZE"] = "-1";
  EXPECT_THROW(apply_env(s, get), mk::Error);
}

TEST(Settings, MakeTracingRefusesBadSettings) {
  TracingSettings off;
  EXPECT_EQ(make_tracing(off, "1", false).tracer, nullptr);  // TRACING_EXPORTER defaults to none
  TracingSettings bad;
  bad.exporter = "jaeger";
  EXPECT_THROW(make_tracing(bad, "1", false), mk::Error);
  TracingSettings tls;
  tls.exporter = "otlp";
  tls.endpoint = "https://collector:4318";
  tls.certificate = "/nonexistent/ca.pem";  // https is fine; an unreadable CA file is not
  EXPECT_THROW(make_tracing(tls, "1", false), mk::Error);
  TracingSettings inject;
  inject.exporter = "otlp";
  inject.endpoint = "http://127.0.0.1:1";
  inject.headers = "x-key=a%0D%0AHost: evil";  // would split a header
  EXPECT_THROW(make_tracing(inject, "1", false), mk::Error);
  TracingSettings grpc;
  grpc.exporter = "otlp";
  grpc.traces_protocol = "grpc";  // OTLP/gRPC is not spoken: refused, not silently sent as HTTP
  EXPECT_THROW(make_tracing(grpc, "1", false), mk::Error);
  mk::metrics::MetricsSettings mgrpc;
  mgrpc.exporter = "otlp";
  mgrpc.protocol = "grpc";
  EXPECT_THROW(mk::metrics::make_metrics_pusher(mgrpc, TracingSettings{}, "1", false), mk::Error);
  // Set pod-wide for some other program: a server that exports nothing over OTLP starts.
  TracingSettings other;
  other.protocol = "grpc";
  EXPECT_NO_THROW(make_tracing(other, "1", false));
  other.exporter = "stdout";
  auto so = make_tracing(other, "1", false);
  EXPECT_NE(so.tracer, nullptr);
  so.processor->shutdown();
  mgrpc.exporter = "prometheus";
  EXPECT_EQ(mk::metrics::make_metrics_pusher(mgrpc, other, "1", false), nullptr);
  TracingSettings prop;
  prop.propagate_to_apiserver = "no";  // true or false only
  EXPECT_THROW(make_tracing(prop, "1", false), mk::Error);
  for (auto [value, want] : {std::pair{"true", true}, {"0", false}, {"1", true}, {"false", false}}) {
    prop.propagate_to_apiserver = value;
    make_tracing(prop, "1", false);
    EXPECT_EQ(propagate_to_apiserver(), want) << value;
  }
  prop.propagate_to_apiserver = "true";
  make_tracing(prop, "1", false);
  make_tracing(TracingSettings{}, "1", false);
  EXPECT_FALSE(propagate_to_apiserver());  // the default
  TracingSettings disabled;
  disabled.exporter = "otlp";
  disabled.instrumentation_enabled = "false";
  EXPECT_EQ(make_tracing(disabled, "1", false).tracer, nullptr);
  TracingSettings ok;
  ok.exporter = "otlp";
  ok.endpoint = "127.0.0.1:4318";  // the seed's host:port form
  ok.headers = "authorization=Bearer%20x";
  auto t = make_tracing(ok, "1", false);
  EXPECT_NE(t.tracer, nullptr);
  t.processor->shutdown();
}

TEST(HttpPost, ParsesHttpAndHttpsUrls) {
  auto u = mk::http_post::parse_url("http://127.0.0.1:4318/v1/traces");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "4318");
  EXPECT_EQ(u.target, "/v1/traces");
  auto v6 = mk::http_post::parse_url("http://[::1]:9/x");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(mk::http_post::parse_url("http://collector").port, "80");
  EXPECT_FALSE(u.tls);
  auto t = mk::http_post::parse_url("https://collector/v1/traces");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.port, "443");
  EXPECT_EQ(mk::http_post::parse_url("https://[::1]:4318").port, "4318");
  EXPECT_THROW(mk::http_post::parse_url("ftp://collector"), mk::Error);
  EXPECT_THROW(mk::http_post::parse_url("http://collector:99999/"), mk::Error);
  EXPECT_THROW(mk::http_post::parse_url("http://user@collector/"), mk::Error);
  EXPECT_THROW(mk::http_post::parse_url("http://collector/a b"), mk::Error);
}

// An https collector (certificates made here by the openssl tool): the POST arrives when the
// server's certificate chains to the given CA and names the host; with another CA the TLS
// handshake fails and nothing is sent.
TEST(HttpPost, HttpsVerifiesTheCollectorAgainstTheGivenCa) {
  testutil::TempDir pki;
  std::string d = pki.str();
  ASSERT_TRUE(testutil::make_test_pki(pki, "collector")) << "openssl failed";
  namespace ssl = boost::asio::ssl;
  namespace beast = boost::beast;
  boost::asio::io_context sio;
  ssl::context sctx(ssl::context::tls_server);
  sctx.use_certificate_chain_file(d + "/server.crt");
  sctx.use_private_key_file(d + "/server.key", ssl::context::pem);
  boost::asio::ip::tcp::acceptor acc(sio, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = std::to_string(acc.local_endpoint().port());
  std::vector<std::string> received;
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      try {
        boost::asio::ip::tcp::socket sock(sio);
        acc.accept(sock);
        beast::ssl_stream<boost::asio::ip::tcp::socket> s(std::move(sock), sctx);
        s.handshake(ssl::stream_base::server);
        beast::flat_buffer b;
        http::request<http::string_body> req;
        http::read(s, b, req);
        received.push_back(req.body());
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "got " + req.body();
        res.prepare_payload();
        http::write(s, res);
      } catch (const std::exception&) {  // the refused handshake
      }
    }
  });
  auto url = mk::http_post::parse_url("https://127.0.0.1:" + port + "/v1/traces");
  auto ok = mk::http_post::post(url, {}, "spans", std::chrono::seconds(10), 1024, d + "/ca.crt");
  auto bad = mk::http_post::post(url, {}, "secret spans", std::chrono::seconds(10), 1024, d + "/other.crt");
  server.join();
  EXPECT_EQ(ok.status, 200u) << ok.error;
  EXPECT_EQ(ok.body, "got spans");
  EXPECT_EQ(bad.status, 0u);
  EXPECT_NE(bad.error.find("TLS handshake"), std::string::npos) << bad.error;
  EXPECT_EQ(received, std::vector<std::string>{"spans"});
}

TEST(ApiSpans, PathTemplatesKeepSpanNamesFew) {
  auto p = mk::k8s::describe_path("/api/v1/namespaces/default/pods/web-1/log?container=x", http::verb::get);
  EXPECT_EQ(p.templ, "/api/v1/namespaces/{namespace}/pods/{name}/log");
  EXPECT_EQ(p.ns, "default");
  EXPECT_EQ(p.resource, "pods");
  EXPECT_EQ(p.verb, "get");
  auto l = mk::k8s::describe_path("/apis/apps/v1/namespaces/team-a/deployments?limit=5", http::verb::get);
  EXPECT_EQ(l.templ, "/apis/apps/v1/namespaces/{namespace}/deployments");
  EXPECT_EQ(l.verb, "list");
  auto w = mk::k8s::describe_path("/api/v1/pods?watch=true", http::verb::get);
  EXPECT_EQ(w.templ, "/api/v1/pods");
  EXPECT_EQ(w.verb, "watch");
  auto ns = mk::k8s::describe_path("/api/v1/namespaces/kube-system", http::verb::get);
  EXPECT_EQ(ns.templ, "/api/v1/namespaces/{name}");
  EXPECT_EQ(ns.ns, "kube-system");
  EXPECT_EQ(mk::k8s::describe_path("/api/v1/namespaces/a/pods", http::verb::delete_).verb, "deletecollection");
  EXPECT_EQ(mk::k8s::describe_path("/api/v1/namespaces/a/pods/b", http::verb::patch).verb, "patch");
  EXPECT_EQ(mk::k8s::describe_path("/api/v1/namespaces/a/services/b/proxy/x/y", http::verb::get).templ,
            "/api/v1/namespaces/{namespace}/services/{name}/proxy/{path}");
  EXPECT_EQ(mk::k8s::describe_path("/readyz?verbose", http::verb::get).templ, "/readyz");
  EXPECT_EQ(mk::k8s::describe_path("/openapi/v3/apis/apps/v1", http::verb::get).templ, "/openapi/{path}");
}

TEST(OtlpMetrics, LabelsRoundTripThroughTheRenderedKey) {
  auto l = mk::metrics::parse_labels(R"(tool="k8s_get",msg="a\"b\\c\nd")");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0], (std::pair<std::string, std::string>{"tool", "k8s_get"}));
  EXPECT_EQ(l[1].second, "a\"b\\c\nd");
  EXPECT_TRUE(mk::metrics::parse_labels("").empty());
}

TEST(OtlpMetrics, JsonShapeFollowsTheSpec) {
  using FV = mk::metrics::Registry::FamilyView;
  using SV = mk::metrics::Registry::SeriesView;
  std::vector<FV> fams;
  fams.push_back(FV{"calls_total", "counter", "Calls.", {SV{R"(tool="a")", 3, {}, 0, 0}}});
  fams.push_back(FV{"open", "gauge", "", {SV{"", 2, {}, 0, 0}}});
  std::vector<std::uint64_t> cum(mk::metrics::kBuckets.size(), 1);                       // one observation <= 1 ms
  cum.back() = 2;                                                                        // one more <= 10 s
  fams.push_back(FV{"lat_seconds", "histogram", "Latency.", {SV{"", 0, cum, 3.5, 3}}});  // and one > 10 s
  fams.push_back(FV{"empty", "counter", "", {}});
  auto v = json::value(mk::metrics::otlp_metrics_json({{{"service.name", "s"}}}, fams, 10, 20));
  auto& sm = v.at("resourceMetrics").at(0).at("scopeMetrics").at(0);
  auto& ms = sm.at("metrics").as_array();
  ASSERT_EQ(ms.size(), 3u);  // a family without series is left out
  EXPECT_EQ(ms[0].at("name"), "calls_total");
  EXPECT_EQ(ms[0].at("description"), "Calls.");
  auto& sum = ms[0].at("sum");
  EXPECT_EQ(sum.at("aggregationTemporality"), 2);
  EXPECT_EQ(sum.at("isMonotonic"), true);
  auto& p = sum.at("dataPoints").at(0);
  EXPECT_EQ(p.at("asDouble"), 3.0);
  EXPECT_EQ(p.at("startTimeUnixNano"), "10");
  EXPECT_EQ(p.at("timeUnixNano"), "20");
  EXPECT_EQ(p.at("attributes").at(0), json::parse(R"({"key":"tool","value":{"stringValue":"a"}})"));
  EXPECT_EQ(ms[1].at("gauge").at("dataPoints").at(0).at("asDouble"), 2.0);
  auto& h = ms[2].at("histogram").at("dataPoints").at(0);
  EXPECT_EQ(h.at("count"), "3");
  EXPECT_EQ(h.at("sum"), 3.5);
  auto& counts = h.at("bucketCounts").as_array();
  auto& bounds = h.at("explicitBounds").as_array();
  ASSERT_EQ(counts.size(), bounds.size() + 1);  // the last bucket is (last bound, +Inf)
  EXPECT_EQ(counts[0], "1");                    // per bucket, not cumulative
  EXPECT_EQ(counts[1], "0");
  EXPECT_EQ(counts[bounds.size() - 1], "1");
  EXPECT_EQ(counts[bounds.size()], "1");
  EXPECT_EQ(bounds[0], 0.001);
}

}  // namespace
