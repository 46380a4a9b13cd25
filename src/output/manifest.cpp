#include "output/manifest.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <unordered_map>

namespace mk::output {
namespace json = boost::json;

namespace {

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}
bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_oct(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Unsigned digits in `base` -> int64 when it fits, else uint64; nullopt when even that overflows.
std::optional<json::value> parse_unsigned(std::string_view digits, int base, bool negative) {
  std::uint64_t u = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  constexpr auto kMax = static_cast<std::uint64_t>(INT64_MAX);
  if (!negative) {
    if (u <= kMax) return json::value(static_cast<std::int64_t>(u));
    return json::value(u);
  }
  if (u <= kMax) return json::value(-static_cast<std::int64_t>(u));
  if (u == kMax + 1) return json::value(INT64_MIN);
  return std::nullopt;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_core_float(std::string_view s) {
  std::size_t i = 0, n = s.size();
  if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < n && is_dec(s[i])) ++i, ++int_digits;
  if (i < n && s[i] == '.') {
    ++i;
    while (i < n && is_dec(s[i])) ++i, ++frac_digits;
    if (int_digits == 0 && frac_digits == 0) return false;
  } else if (int_digits == 0) {
    return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < n && is_dec(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == n;
}

bool is_special_float(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return s == ".inf" || s == ".Inf" || s == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN";
}

[[noreturn]] void not_representable(std::string_view s) {
  fail(Errc::invalid_argument, fmt::format("the YAML value \"{}\" (infinity / NaN) cannot be represented in JSON", s));
}

// Where an event starts; libyaml counts lines and columns from 0.
struct Mark {
  std::size_t line = 0, column = 0;
  bool set = false;
};
Mark mark_of(const yaml_mark_t& m) { return {m.line, m.column, true}; }

std::string where(const Mark& m) {
  if (!m.set) return "";
  return fmt::format("line {}, column {}: ", m.line + 1, m.column + 1);
}

std::string_view text_of(const yaml_char_t* s) { return s ? reinterpret_cast<const char*>(s) : std::string_view(); }

std::size_t value_bytes(const json::value& v) { return v.is_string() ? v.as_string().size() : 0; }

using ScalarData = decltype(yaml_event_t{}.data.scalar);

// Builds JSON values straight from parser events: no intermediate YAML node tree, so memory
// stays proportional to the output, and every cap is checked as values appear.
class JsonBuilder {
 public:
  JsonBuilder(const ManifestLimits& l, YamlScalars scalars, std::vector<json::value>& docs)
      : limits_(l), scalars_(scalars), docs_(docs) {}

  // One libyaml event; returns false at the end of the stream.
  bool on(const yaml_event_t& e) {
    switch (e.type) {
      case YAML_DOCUMENT_START_EVENT: document_start(); break;
      case YAML_DOCUMENT_END_EVENT: document_end(); break;
      case YAML_ALIAS_EVENT: alias(mark_of(e.start_mark), text_of(e.data.alias.anchor)); break;
      case YAML_SCALAR_EVENT: {
        auto& sc = e.data.scalar;
        scalar(mark_of(e.start_mark), sc, std::string_view(reinterpret_cast<const char*>(sc.value), sc.length));
        break;
      }
      case YAML_SEQUENCE_START_EVENT: open(mark_of(e.start_mark), text_of(e.data.sequence_start.anchor), false); break;
      case YAML_MAPPING_START_EVENT: open(mark_of(e.start_mark), text_of(e.data.mapping_start.anchor), true); break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: close(); break;
      case YAML_STREAM_END_EVENT: return false;
      default: break;  // stream start, no event
    }
    return true;
  }

  std::size_t document() const { return document_; }

 private:
  void document_start() {
    ++document_;
    stack_.clear();
    anchors_.clear();  // anchors never cross documents
    root_.reset();
  }

  void document_end() {
    if (root_ && !root_->is_null()) {
      if (docs_.size() >= limits_.max_objects)
        fail(Errc::too_large, fmt::format("the {} has more than {} documents", limits_.subject, limits_.max_objects));
      docs_.push_back(std::move(*root_));
    }
    root_.reset();
  }

  void alias(const Mark& m, std::string_view anchor) {
    mark_ = m;
    auto it = anchors_.find(std::string(anchor));
    if (it == anchors_.end()) fail(Errc::invalid_argument, where(m) + fmt::format("alias *{} names no anchor", anchor));
    if (awaiting_key()) {
      if (!it->second.value.is_string())
        fail(Errc::invalid_argument, where(m) + "a mapping key must be a string, not a collection or number alias");
      set_key(std::string(it->second.value.as_string()), false);
      return;
    }
    // Each alias copies its target: charge the copy so "billion laughs" hits the caps.
    complete(it->second.value, it->second.nodes, it->second.bytes, {}, true);
  }

  void scalar(const Mark& m, const ScalarData& sc, std::string_view text) {
    mark_ = m;
    bool plain = !sc.tag && sc.plain_implicit && sc.style == YAML_PLAIN_SCALAR_STYLE;
    if (awaiting_key()) {
      if (plain && resolve_plain_scalar(text).is_null())
        fail(Errc::invalid_argument, where(m) + "a mapping key must not be null");
      set_key(std::string(text), plain);
      return;
    }
    json::value v = resolve(plain, text_of(sc.tag), text, m);
    std::size_t b = value_bytes(v);
    complete(std::move(v), 1, b, text_of(sc.anchor), true);
  }

  struct Frame {
    json::value value;
    bool is_map = false;
    std::optional<std::string> key;
    bool key_plain = false;
    std::string anchor;
    std::size_t nodes = 1, bytes = 0;
    std::vector<json::object> merges;  // `<<` sources, applied when the map closes
  };
  struct Anchored {
    json::value value;
    std::size_t nodes = 0, bytes = 0;
  };

  bool awaiting_key() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().key; }

  void set_key(std::string key, bool plain) {
    // Keys are output too, and an alias key copies its anchor's text: count them like values.
    charge(0, key.size());
    auto& f = stack_.back();
    f.bytes += key.size();
    f.key = std::move(key);
    f.key_plain = plain;
  }

  void open(const Mark& m, std::string_view anchor, bool is_map) {
    mark_ = m;
    if (awaiting_key()) fail(Errc::invalid_argument, where(m) + "complex (non-scalar) mapping keys are not supported");
    if (stack_.size() >= limits_.max_depth)
      fail(Errc::too_large,
           where(m) + fmt::format("the {} nests deeper than {} levels", limits_.subject, limits_.max_depth));
    Frame f;
    f.is_map = is_map;
    f.anchor = std::string(anchor);
    if (is_map) f.value = json::object();
    else f.value = json::array();
    stack_.push_back(std::move(f));
    charge(1, 0);
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.is_map && f.key) fail(Errc::invalid_argument, where(mark_) + fmt::format("key \"{}\" has no value", *f.key));
    if (f.is_map) {
      auto& o = f.value.as_object();
      for (auto& src : f.merges)
        for (auto& [k, v] : src)
          if (!o.contains(k)) o.emplace(k, std::move(v));
    }
    complete(std::move(f.value), f.nodes, f.bytes, f.anchor, false);
  }

  void charge(std::size_t nodes, std::size_t bytes) {
    total_nodes_ += nodes;
    total_bytes_ += bytes;
    if (total_nodes_ > limits_.max_nodes)
      fail(Errc::too_large,
           fmt::format("the {} expands to more than {} values (aliases included)", limits_.subject, limits_.max_nodes));
    if (total_bytes_ > limits_.max_value_bytes)
      fail(Errc::too_large, fmt::format("the {} expands to more than {} bytes of strings (aliases included)",
                                        limits_.subject, limits_.max_value_bytes));
  }

  // A finished value: recorded under its anchor, then attached to its parent (or the root).
  void complete(json::value v, std::size_t nodes, std::size_t bytes, std::string_view anchor, bool charge_now) {
    if (charge_now) charge(nodes, bytes);
    if (!anchor.empty()) {
      charge(nodes, bytes);  // the anchor keeps a copy (nested anchors would copy a tree per level)
      anchors_[std::string(anchor)] = Anchored{v, nodes, bytes};
    }
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    auto& p = stack_.back();
    p.nodes += nodes;
    p.bytes += bytes;
    if (!p.is_map) {
      p.value.as_array().push_back(std::move(v));
      return;
    }
    std::string key = std::move(*p.key);
    bool plain = p.key_plain;
    p.key.reset();
    if (plain && key == "<<") {
      if (v.is_object()) p.merges.push_back(std::move(v.as_object()));
      else if (v.is_array()) {
        for (auto& x : v.as_array()) {
          if (!x.is_object()) fail(Errc::invalid_argument, where(mark_) + "a `<<` merge list may only hold mappings");
          p.merges.push_back(std::move(x.as_object()));
        }
      } else {
        fail(Errc::invalid_argument, where(mark_) + "a `<<` merge key needs a mapping or a list of mappings");
      }
      return;
    }
    auto& o = p.value.as_object();
    if (o.contains(key)) fail(Errc::invalid_argument, where(mark_) + fmt::format("duplicate key \"{}\"", key));
    o.emplace(key, std::move(v));
  }

  // A scalar's value: plain ones by the core schema (or as text when asked), quoted and block
  // ones as strings, explicit tags honoured.
  json::value resolve(bool plain, std::string_view tag, std::string_view text, const Mark& m) {
    if (plain) {
      if (scalars_ == YamlScalars::typed) return resolve_plain_scalar(text);
      if (auto v = resolve_plain_scalar(text); v.is_null()) return v;
      return json::value(json::string(text));
    }
    if (tag.empty() || tag == "!") return json::value(json::string(text));
    constexpr std::string_view core = "tag:yaml.org,2002:";
    if (tag.rfind(core, 0) == 0) {
      std::string_view t = std::string_view(tag).substr(core.size());
      if (t == "str" || t == "binary" || t == "timestamp") return json::value(json::string(text));
      auto v = resolve_plain_scalar(text);
      if (t == "int" && (v.is_int64() || v.is_uint64())) return v;
      if (t == "float" && v.is_number()) return json::value(v.to_number<double>());
      if (t == "bool" && v.is_bool()) return v;
      if (t == "null" && v.is_null()) return v;
      fail(Errc::invalid_argument, where(m) + fmt::format("\"{}\" is not a valid !!{}", text, t));
    }
    fail(Errc::invalid_argument, where(m) + fmt::format("unsupported YAML tag \"{}\"", tag));
  }

  const ManifestLimits& limits_;
  YamlScalars scalars_;
  std::vector<json::value>& docs_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, Anchored> anchors_;
  std::optional<json::value> root_;
  std::size_t total_nodes_ = 0, total_bytes_ = 0, document_ = 0;
  Mark mark_;
};

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: return "an object";
    case json::kind::array: return "a list";
    case json::kind::string: return "a string";
    case json::kind::bool_: return "a boolean";
    case json::kind::null: return "null";
    default: return "a number";
  }
}

}  // namespace

json::value resolve_plain_scalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  bool neg = s[0] == '-';
  std::string_view digits = (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
  if (all_of(digits, is_dec)) {
    if (digits.size() > 1 && digits[0] == '0') {
      // kubectl (and the defaultMode docs) read 0644 as octal; anything else stays text.
      if (!all_of(digits, is_oct)) return json::string(s);
      if (auto v = parse_unsigned(digits, 8, neg)) return *v;
      return json::string(s);
    }
    if (auto v = parse_unsigned(digits, 10, neg)) return *v;
    return std::strtod(std::string(s).c_str(), nullptr);  // beyond 64 bits: a JSON number still
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && all_of(s.substr(2), is_oct)) {
    if (auto v = parse_unsigned(s.substr(2), 8, false)) return *v;
    return json::string(s);
  }
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && all_of(s.substr(2), is_hex)) {
    if (auto v = parse_unsigned(s.substr(2), 16, false)) return *v;
    return json::string(s);
  }
  if (is_core_float(s)) {
    double d = std::strtod(std::string(s).c_str(), nullptr);
    if (!std::isfinite(d)) not_representable(s);
    return d;
  }
  if (is_special_float(s)) not_representable(s);
  return json::string(s);
}

std::vector<json::value> yaml_to_json(std::string_view text, const ManifestLimits& limits, YamlScalars scalars) {
  if (text.size() > limits.max_bytes)
    fail(Errc::too_large,
         fmt::format("the {} is {} bytes; the limit is {} bytes", limits.subject, text.size(), limits.max_bytes));
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  std::vector<json::value> docs;
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return docs;
  // JSON is YAML, but parsing it as JSON keeps every number exactly as written.
  if (text[first] == '{' || text[first] == '[') {
    boost::system::error_code ec;
    json::parse_options po;
    po.max_depth = limits.max_depth;
    auto v = json::parse(text, ec, {}, po);
    if (!ec) {
      if (!v.is_null()) docs.push_back(std::move(v));
      return docs;
    }
    // Not strict JSON (e.g. YAML flow style): the YAML parser reports the real problem.
  }
  // libyaml: the C parser go-yaml (and so kubectl) was ported from; event-driven, no recursion.
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> parser(new yaml_parser_t, [](yaml_parser_t* p) {
    yaml_parser_delete(p);
    delete p;
  });
  if (!yaml_parser_initialize(parser.get())) fail(Errc::internal, "cannot initialise the YAML parser");
  yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  JsonBuilder b(limits, scalars, docs);
  for (bool more = true; more;) {
    yaml_event_t e;
    if (!yaml_parser_parse(parser.get(), &e)) {
      const auto& p = *parser;
      fail(Errc::invalid_argument, fmt::format("the {} is not valid YAML: {}{}{}", limits.subject,
                                               where(mark_of(p.problem_mark)), p.problem ? p.problem : "syntax error",
                                               p.context ? fmt::format(" {}", p.context) : std::string()));
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> owned(&e, yaml_event_delete);
    try {
      more = b.on(e);
    } catch (const Error& err) {
      throw Error(err.code(), fmt::format("{} document {}: {}", limits.subject, std::max<std::size_t>(b.document(), 1),
                                          err.what()));
    }
  }
  return docs;
}

std::vector<json::object> parse_manifest(std::string_view text, const ManifestLimits& limits) {
  auto docs = yaml_to_json(text, limits);
  std::vector<json::object> out;
  auto add = [&](json::value& v, std::string_view where_) {
    if (!v.is_object())
      fail(Errc::invalid_argument, fmt::format("{} is {}, not a Kubernetes object", where_, kind_name(v)));
    if (out.size() >= limits.max_objects)
      fail(Errc::too_large, fmt::format("the manifest holds more than {} objects", limits.max_objects));
    out.push_back(std::move(v.as_object()));
  };
  for (std::size_t i = 0; i < docs.size(); ++i) {
    auto& d = docs[i];
    std::string label = fmt::format("document {}", i + 1);
    json::array* items = nullptr;
    if (d.is_array()) items = &d.as_array();
    else if (d.is_object()) {
      auto& o = d.as_object();
      auto* k = o.if_contains("kind");
      auto* it = o.if_contains("items");
      if (k && k->is_string() && k->as_string().ends_with("List") && it && it->is_array()) items = &it->as_array();
    }
    if (!items) {
      add(d, label);
      continue;
    }
    for (std::size_t j = 0; j < items->size(); ++j) add((*items)[j], fmt::format("{}, item {}", label, j + 1));
  }
  if (out.empty()) fail(Errc::invalid_argument, "the manifest contains no objects");
  return out;
}

}  // namespace mk::output
