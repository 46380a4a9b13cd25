// Span text from callers, API servers and runtimes on its way to a collector: SpanData::set
// (arena copy, UTF-8-safe cut, text budget) and the OTLP/JSON writer (escaping, U+FFFD for
// ill-formed UTF-8). The input is split at NUL bytes into a name, a status message and up to
// 70 attribute values (more than kMaxAttributes). Invariants checked:
//   - the batch is valid JSON and valid UTF-8 (boost::json refuses anything else);
//   - a well-formed value (per boost::json's own UTF-8 check) comes back byte for byte, cut
//     only at a code point boundary; an ill-formed one comes back with U+FFFD in it;
//   - no more than kMaxAttributes attributes and kMaxSpanText bytes of text are kept, and what
//     was refused is counted in droppedAttributesCount;
//   - the protobuf encoding of the same batch parses, its strings are UTF-8, and its attribute
//     values equal the JSON encoding's.
#include "instrumentation/protobuf.hpp"
#include "instrumentation/trace.hpp"
#include "instrumentation/trace_export.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

using namespace mk::trace;

namespace {
// 70 distinct literal keys ("k00".."k69"): attribute keys must be literals.
struct Keys {
  char v[70][4];
};
constexpr Keys make_keys() {
  Keys k{};
  for (int i = 0; i < 70; ++i) {
    k.v[i][0] = 'k';
    k.v[i][1] = static_cast<char>('0' + i / 10);
    k.v[i][2] = static_cast<char>('0' + i % 10);
    k.v[i][3] = 0;
  }
  return k;
}
constexpr Keys kKeys = make_keys();

template <std::size_t... I>
void set_all(SpanData& d, const std::vector<std::string_view>& values, std::index_sequence<I...>) {
  ((I < values.size() ? d.set(kKeys.v[I], values[I]) : void()), ...);
}

// Whether boost::json takes `s` as the text of a JSON string (its UTF-8 check is the oracle).
bool well_formed(std::string_view s) {
  std::string doc = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') doc += '\\', doc += c;
    else if (u < 0x20) doc += ' ';
    else doc += c;
  }
  doc += '"';
  boost::system::error_code ec;
  boost::json::parse(doc, ec);
  return !ec;
}

// The one field `number` of a message (the last one when repeated), or abort.
std::string_view only(std::string_view msg, std::uint32_t number) {
  mk::proto::Reader r(msg);
  mk::proto::Reader::Field f;
  std::string_view got;
  bool seen = false;
  while (r.next(f))
    if (f.number == number) got = f.bytes, seen = true;
  if (r.error() || !seen) std::abort();
  return got;
}

std::string controls_as_spaces(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return out;
}

// UTF-8 by boost::json's own check (not the writer's helper, which would agree with itself).
bool valid_utf8(std::string_view s) { return well_formed(controls_as_spaces(s)); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start <= in.size() && parts.size() < 72;) {
    auto nul = in.find('\0', start);
    if (nul == std::string_view::npos) nul = in.size();
    parts.push_back(in.substr(start, nul - start));
    start = nul + 1;
  }
  std::vector<std::unique_ptr<SpanData>> batch;
  batch.push_back(std::make_unique<SpanData>());
  auto& d = *batch[0];
  d.name = std::string(parts[0]);
  d.status = Status::error;
  if (parts.size() > 1) d.status_message = std::string(parts[1]);
  std::vector<std::string_view> values(parts.begin() + std::min<std::size_t>(2, parts.size()), parts.end());
  set_all(d, values, std::make_index_sequence<70>{});

  std::size_t text = 0;
  for (auto& a : d.attributes())
    if (auto* v = std::get_if<std::string_view>(&a.value)) text += v->size();
  if (d.attributes().size() > kMaxAttributes || text > kMaxSpanText) std::abort();
  if (d.attributes().size() + d.dropped_attributes < values.size()) std::abort();  // every value kept or counted

  auto json_text = otlp_json_text({{{"service.name", "fuzz"}}}, batch);
  boost::system::error_code ec;
  auto v = boost::json::parse(json_text, ec);
  if (ec) std::abort();  // invalid JSON or ill-formed UTF-8 reached the collector
  auto& span = v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).as_object();
  auto& attrs = span.at("attributes").as_array();
  if (attrs.size() != d.attributes().size()) std::abort();
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    auto key = attrs[i].at("key").as_string();
    auto got = std::string_view(attrs[i].at("value").at("stringValue").as_string());
    auto idx = static_cast<std::size_t>((key[1] - '0') * 10 + (key[2] - '0'));
    auto original = values.at(idx);
    auto kept = std::get<std::string_view>(d.attributes()[i].value);
    if (original.substr(0, kept.size()) != kept) std::abort();  // a prefix of what was given
    if (kept.size() < original.size() && kept.size() + 4 <= kMaxAttributeValue) std::abort();  // cut only near the cap
    if (well_formed(controls_as_spaces(kept))) {
      if (got != kept) std::abort();  // well-formed text passes unchanged
    } else if (got.find("\xef\xbf\xbd") == std::string_view::npos) {
      std::abort();  // ill-formed text is marked
    }
  }
  if (d.dropped_attributes && !span.contains("droppedAttributesCount")) std::abort();

  // The protobuf encoding: well-formed, every string UTF-8, the same values as the JSON one.
  auto pb = otlp_proto({{{"service.name", "fuzz"}}}, batch);
  auto pspan = only(only(only(pb, 1), 2), 2);  // resource_spans -> scope_spans -> spans
  mk::proto::Reader r(pspan);
  mk::proto::Reader::Field f;
  std::size_t n = 0;
  while (r.next(f)) {
    if ((f.number == 5 || f.number == 3) && !valid_utf8(f.bytes)) std::abort();  // name, trace_state
    if (f.number == 15 && !d.status_message.empty() && !valid_utf8(only(f.bytes, 2))) std::abort();  // status
    if (f.number != 9) continue;
    auto value = only(only(f.bytes, 2), 1);  // KeyValue.value -> AnyValue.string_value
    if (!valid_utf8(value)) std::abort();
    if (value != std::string_view(attrs.at(n).at("value").at("stringValue").as_string())) std::abort();
    ++n;
  }
  if (r.error() || n != attrs.size()) std::abort();
  return 0;
}
