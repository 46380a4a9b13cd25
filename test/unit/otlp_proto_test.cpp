// The OTLP protobuf encoding: the wire writer byte for byte, and each request differentially
// against the JSON encoding (a schema table below turns the protobuf back into OTLP/JSON's
// shape, which must equal what otlp_json writes for the same spans and metrics). A real
// collector decoding it is the e2e tracing test (Jaeger).
#include "instrumentation/metrics_export.hpp"
#include "instrumentation/protobuf.hpp"
#include "instrumentation/trace_export.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <bit>
#include <map>

namespace json = boost::json;
using namespace mk::trace;
using mk::proto::Reader;
using mk::proto::Wire;
using mk::proto::Writer;

namespace {

std::string hex(std::string_view b) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) out += {d[c >> 4], d[c & 15]};
  return out;
}

TEST(ProtoWriter, WritesTheWireFormat) {
  std::string out;
  Writer w(out);
  w.uint_field(1, 150);  // the protobuf guide's example: 08 96 01
  w.string_field(2, "testing");
  w.int_field(3, -1);  // ten bytes
  w.fixed64_field(4, 1);
  w.fixed32_field(5, 0x01020304);
  w.bool_field(6, true);
  w.double_field(7, 1.0);
  EXPECT_EQ(hex(out),
            "089601"
            "120774657374696e67"
            "18ffffffffffffffffff01"
            "210100000000000000"
            "2d04030201"
            "3001"
            "39000000000000f03f");
}

TEST(ProtoWriter, NestedLengthsOfEverySize) {
  // Lengths 127 (one byte, nothing moves), 128 (two bytes), 16384 (three bytes), and a message
  // nested inside one that grows.
  for (std::size_t n : {0u, 1u, 127u, 128u, 300u, 16383u, 16384u, 100000u}) {
    std::string out;
    Writer w(out);
    auto outer = w.begin(1);
    auto inner = w.begin(2);
    out.append(n, 'x');
    w.end(inner);
    w.uint_field(3, 7);
    w.end(outer);
    Reader r(out);
    Reader::Field f;
    ASSERT_TRUE(r.next(f)) << n;
    EXPECT_EQ(f.number, 1u);
    Reader::Field after;
    EXPECT_FALSE(r.next(after));  // nothing after the outer message
    EXPECT_FALSE(r.error());
    Reader body(f.bytes);
    ASSERT_TRUE(body.next(f));
    EXPECT_EQ(f.number, 2u);
    EXPECT_EQ(f.bytes.size(), n);
    EXPECT_EQ(f.bytes.find_first_not_of('x'), std::string_view::npos);
    ASSERT_TRUE(body.next(f));
    EXPECT_EQ(f.number, 3u);
    EXPECT_EQ(f.value, 7u);
    EXPECT_FALSE(body.next(f));
    EXPECT_FALSE(body.error());
  }
}

TEST(ProtoWriter, IllFormedUtf8BecomesReplacementCharacters) {
  // proto3 strings must be UTF-8: Go's decoder refuses the whole request otherwise.
  std::string out;
  Writer w(out);
  std::string good = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  w.string_field(1, "a\xc3|\x80|\xed\xa0\x80|caf\xe9|" + good);
  Reader r(out);
  Reader::Field f;
  ASSERT_TRUE(r.next(f));
  const std::string rc = "\xef\xbf\xbd";
  EXPECT_EQ(std::string(f.bytes), "a" + rc + "|" + rc + "|" + rc + rc + rc + "|caf" + rc + "|" + good);
}

TEST(ProtoReader, RefusesMalformedInput) {
  for (std::string bad :
       {std::string("\x0a\x05xyz"), std::string("\x08\x80"), std::string("\x0b"), std::string("\x09\x01\x02"),
        std::string("\x00\x01", 2), std::string("\x0a\xff\xff\xff\xff\x0f")}) {
    Reader r(bad);
    Reader::Field f;
    while (r.next(f)) {
    }
    EXPECT_TRUE(r.error()) << hex(bad);
  }
}

// --- protobuf -> OTLP/JSON's shape, by field tables -------------------------------------------

enum class T { msg, str, hex_bytes, int_num, int64_str, fixed64_str, dbl, boolean, packed_fixed64_str, packed_dbl };
struct FieldSpec {
  const char* name;
  T type;
  const char* message = nullptr;  // T::msg
  bool repeated = false;
};
using Schema = std::map<std::string, std::map<std::uint32_t, FieldSpec>>;

const Schema& schema() {
  static const Schema s = {
      {"ExportTraceServiceRequest", {{1, {"resourceSpans", T::msg, "ResourceSpans", true}}}},
      {"ResourceSpans", {{1, {"resource", T::msg, "Resource"}}, {2, {"scopeSpans", T::msg, "ScopeSpans", true}}}},
      {"Resource", {{1, {"attributes", T::msg, "KeyValue", true}}}},
      {"ScopeSpans", {{1, {"scope", T::msg, "Scope"}}, {2, {"spans", T::msg, "Span", true}}}},
      {"Scope", {{1, {"name", T::str}}, {2, {"version", T::str}}}},
      {"Span",
       {{1, {"traceId", T::hex_bytes}},
        {2, {"spanId", T::hex_bytes}},
        {3, {"traceState", T::str}},
        {4, {"parentSpanId", T::hex_bytes}},
        {5, {"name", T::str}},
        {6, {"kind", T::int_num}},
        {7, {"startTimeUnixNano", T::fixed64_str}},
        {8, {"endTimeUnixNano", T::fixed64_str}},
        {9, {"attributes", T::msg, "KeyValue", true}},
        {10, {"droppedAttributesCount", T::int_num}},
        {13, {"links", T::msg, "Link", true}},
        {15, {"status", T::msg, "Status"}}}},
      {"Link", {{1, {"traceId", T::hex_bytes}}, {2, {"spanId", T::hex_bytes}}, {3, {"traceState", T::str}}}},
      {"Status", {{2, {"message", T::str}}, {3, {"code", T::int_num}}}},
      {"KeyValue", {{1, {"key", T::str}}, {2, {"value", T::msg, "AnyValue"}}}},
      {"AnyValue",
       {{1, {"stringValue", T::str}},
        {2, {"boolValue", T::boolean}},
        {3, {"intValue", T::int64_str}},
        {4, {"doubleValue", T::dbl}}}},
      {"ExportMetricsServiceRequest", {{1, {"resourceMetrics", T::msg, "ResourceMetrics", true}}}},
      {"ResourceMetrics", {{1, {"resource", T::msg, "Resource"}}, {2, {"scopeMetrics", T::msg, "ScopeMetrics", true}}}},
      {"ScopeMetrics", {{1, {"scope", T::msg, "Scope"}}, {2, {"metrics", T::msg, "Metric", true}}}},
      {"Metric",
       {{1, {"name", T::str}},
        {2, {"description", T::str}},
        {5, {"gauge", T::msg, "Gauge"}},
        {7, {"sum", T::msg, "Sum"}},
        {9, {"histogram", T::msg, "Histogram"}}}},
      {"Gauge", {{1, {"dataPoints", T::msg, "NumberDataPoint", true}}}},
      {"Sum",
       {{1, {"dataPoints", T::msg, "NumberDataPoint", true}},
        {2, {"aggregationTemporality", T::int_num}},
        {3, {"isMonotonic", T::boolean}}}},
      {"Histogram",
       {{1, {"dataPoints", T::msg, "HistogramDataPoint", true}}, {2, {"aggregationTemporality", T::int_num}}}},
      {"NumberDataPoint",
       {{7, {"attributes", T::msg, "KeyValue", true}},
        {2, {"startTimeUnixNano", T::fixed64_str}},
        {3, {"timeUnixNano", T::fixed64_str}},
        {4, {"asDouble", T::dbl}}}},
      {"HistogramDataPoint",
       {{9, {"attributes", T::msg, "KeyValue", true}},
        {2, {"startTimeUnixNano", T::fixed64_str}},
        {3, {"timeUnixNano", T::fixed64_str}},
        {4, {"count", T::fixed64_str}},
        {5, {"sum", T::dbl}},
        {6, {"bucketCounts", T::packed_fixed64_str}},
        {7, {"explicitBounds", T::packed_dbl}}}},
  };
  return s;
}

json::object decode(std::string_view bytes, const std::string& message) {
  const auto& fields = schema().at(message);
  json::object o;
  Reader r(bytes);
  Reader::Field f;
  while (r.next(f)) {
    auto it = fields.find(f.number);
    if (it == fields.end()) ADD_FAILURE() << message << ": unexpected field " << f.number;
    if (it == fields.end()) continue;
    const auto& spec = it->second;
    json::value v;
    auto want = [&](Wire w) {
      EXPECT_EQ(static_cast<int>(f.wire), static_cast<int>(w)) << message << "." << spec.name;
    };
    switch (spec.type) {
      case T::msg:
        want(Wire::len);
        v = decode(f.bytes, spec.message);
        break;
      case T::str:
        want(Wire::len);
        v = json::string(f.bytes);
        break;
      case T::hex_bytes:
        want(Wire::len);
        v = json::string(hex(f.bytes));
        break;
      case T::int_num:
        want(Wire::varint);
        v = static_cast<std::int64_t>(f.value);
        break;
      case T::int64_str:
        want(Wire::varint);
        v = json::string(std::to_string(static_cast<std::int64_t>(f.value)));
        break;
      case T::fixed64_str:
        want(Wire::i64);
        v = json::string(std::to_string(f.value));
        break;
      case T::dbl:
        want(Wire::i64);
        v = std::bit_cast<double>(f.value);
        break;
      case T::boolean:
        want(Wire::varint);
        v = f.value != 0;
        break;
      case T::packed_fixed64_str:
      case T::packed_dbl: {
        want(Wire::len);
        EXPECT_EQ(f.bytes.size() % 8, 0u);
        json::array a;
        for (std::size_t i = 0; i + 8 <= f.bytes.size(); i += 8) {
          std::uint64_t x = 0;
          for (int k = 0; k < 8; ++k) x |= std::uint64_t{static_cast<unsigned char>(f.bytes[i + k])} << (8 * k);
          if (spec.type == T::packed_dbl) a.push_back(std::bit_cast<double>(x));
          else a.push_back(json::string(std::to_string(x)));
        }
        v = std::move(a);
        break;
      }
    }
    if (spec.repeated && spec.type == T::msg) {
      if (!o.contains(spec.name)) o[spec.name] = json::array();
      o[spec.name].as_array().push_back(std::move(v));
    } else {
      o[spec.name] = std::move(v);
    }
  }
  EXPECT_FALSE(r.error()) << message;
  // Fields OTLP/JSON writes even when empty or zero (proto3 leaves them out of the binary form).
  auto dflt = [&](const char* k, json::value v) {
    if (!o.contains(k)) o[k] = std::move(v);
  };
  if (message == "Span" || message == "Resource" || message == "NumberDataPoint" || message == "HistogramDataPoint")
    dflt("attributes", json::array());
  if (message == "Status") dflt("code", 0);
  return o;
}

std::unique_ptr<SpanData> span(std::string_view traceparent) {
  auto s = std::make_unique<SpanData>();
  s->context = *parse_traceparent(traceparent);
  return s;
}

TEST(OtlpProto, SpansCarryWhatTheJsonEncodingCarries) {
  std::vector<std::unique_ptr<SpanData>> batch;
  auto s = span("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  s->context.trace_state = "a=1,b=2";
  s->parent_span_id = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01")->span_id;
  s->name = "tools/call k8s_get";
  s->kind = SpanKind::server;
  s->start_ns = 1700000000000000001ull;
  s->end_ns = 1700000000500000000ull;
  s->set("s", std::string_view("v"));
  s->set("i", std::int64_t{-42});
  s->set("big", std::int64_t{9007199254740993});
  s->set("d", 1.5);
  s->set("b", true);
  s->set("f", false);
  s->set("long", std::string(600, 'y'));  // a KeyValue over 127 bytes: its lengths widen
  s->set("bad", std::string_view("caf\xe9"));
  s->links.push_back({*parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")});
  s->links.back().context.trace_state = "x=y";
  s->status = Status::error;
  s->status_message = "Forbidden: no";
  s->dropped_attributes = 3;
  batch.push_back(std::move(s));
  auto root = span("00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01");
  root->name = "root";
  root->status = Status::ok;
  batch.push_back(std::move(root));
  for (int i = 0; i < 300; ++i) batch.push_back(span("00-4bf92f3577b34da6a3ce929d0e0e4736-2222222222222222-01"));

  Resource r{{{"service.name", "mcp-kubernetes"}, {"service.version", "1.2.3"}, {"k", "v\xff"}}};
  auto bytes = otlp_proto(r, batch);
  auto from_proto = decode(bytes, "ExportTraceServiceRequest");
  EXPECT_EQ(json::value(from_proto), json::value(otlp_json(r, batch)));
  EXPECT_LT(bytes.size(), otlp_json_text(r, batch).size() * 3 / 4);  // the point of the encoding
}

TEST(OtlpProto, MetricsCarryWhatTheJsonEncodingCarries) {
  using FV = mk::metrics::Registry::FamilyView;
  using SV = mk::metrics::Registry::SeriesView;
  std::vector<FV> fams;
  fams.push_back(
      FV{"calls_total", "counter", "Calls.", {SV{R"(tool="a",msg="x\"y")", 3, {}, 0, 0}, SV{"", 0.5, {}, 0, 0}}});
  fams.push_back(FV{"open", "gauge", "", {SV{"", -2, {}, 0, 0}}});
  std::vector<std::uint64_t> cum(mk::metrics::kBuckets.size(), 1);
  cum.back() = 2;
  fams.push_back(FV{"lat_seconds", "histogram", "Latency.", {SV{R"(tool="b")", 0, cum, 3.5, 3}}});
  fams.push_back(FV{"empty", "counter", "", {}});
  Resource r{{{"service.name", "s"}}};
  auto bytes = mk::metrics::otlp_metrics_proto(r, fams, 10, 1700000000000000001ull);
  auto from_proto = decode(bytes, "ExportMetricsServiceRequest");
  EXPECT_EQ(json::value(from_proto), json::value(mk::metrics::otlp_metrics_json(r, fams, 10, 1700000000000000001ull)));
}

TEST(OtlpProto, ProtocolSetting) {
  EXPECT_EQ(parse_protocol("", "X", ""), OtlpProtocol::protobuf);  // OTLP's default
  EXPECT_EQ(parse_protocol("", "X", "http/json"), OtlpProtocol::json);
  EXPECT_EQ(parse_protocol("http/protobuf", "X", "http/json"), OtlpProtocol::protobuf);  // the signal's own wins
  try {
    parse_protocol("grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "");
    ADD_FAILURE() << "grpc accepted";
  } catch (const mk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: grpc is not supported"),
              std::string::npos)
        << e.what();
  }
  try {
    parse_protocol("", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/xml");
    ADD_FAILURE() << "http/xml accepted";
  } catch (const mk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("OTEL_EXPORTER_OTLP_PROTOCOL must be"), std::string::npos) << e.what();
  }
  EXPECT_EQ(content_type(OtlpProtocol::protobuf), "application/x-protobuf");
}

TEST(OtlpProto, PartialSuccessInEitherEncoding) {
  std::string resp;
  Writer w(resp);
  auto ps = w.begin(1);
  w.uint_field(1, 5);
  w.string_field(2, "too old");
  w.end(ps);
  EXPECT_EQ(rejected_count(OtlpProtocol::protobuf, resp, "rejectedSpans"), 5u);
  EXPECT_EQ(rejected_count(OtlpProtocol::protobuf, "", "rejectedSpans"), 0u);
  EXPECT_EQ(rejected_count(OtlpProtocol::protobuf, "\x0a\x09", "rejectedSpans"), 0u);  // cut short
  EXPECT_EQ(rejected_count(OtlpProtocol::json, R"({"partialSuccess":{"rejectedSpans":"4"}})", "rejectedSpans"), 4u);
  EXPECT_EQ(rejected_count(OtlpProtocol::json, R"({"partialSuccess":{"rejectedSpans":4}})", "rejectedSpans"), 4u);
  EXPECT_EQ(rejected_count(OtlpProtocol::json, R"({"partialSuccess":{}})", "rejectedSpans"), 0u);
  EXPECT_EQ(rejected_count(OtlpProtocol::json, "not json", "rejectedSpans"), 0u);
  // A negative count (int64 on the wire) is no count, in either encoding; the last one wins.
  std::string neg;
  Writer wn(neg);
  auto p1 = wn.begin(1);
  wn.int_field(1, -1);
  wn.end(p1);
  EXPECT_EQ(rejected_count(OtlpProtocol::protobuf, neg, "rejectedSpans"), 0u);
  EXPECT_EQ(rejected_count(OtlpProtocol::protobuf, resp + neg, "rejectedSpans"), 0u);
  EXPECT_EQ(rejected_count(OtlpProtocol::protobuf, neg + resp, "rejectedSpans"), 5u);
  EXPECT_EQ(rejected_count(OtlpProtocol::json, R"({"partialSuccess":{"rejectedSpans":"-1"}})", "rejectedSpans"), 0u);
  EXPECT_EQ(rejected_count(OtlpProtocol::json, R"({"partialSuccess":{"rejectedSpans":-1}})", "rejectedSpans"), 0u);
  EXPECT_EQ(rejected_count(OtlpProtocol::json, R"({"partialSuccess":{"rejectedSpans":"4x"}})", "rejectedSpans"), 0u);
}

}  // namespace
