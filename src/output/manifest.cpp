#include "output/manifest.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
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

std::string where(const YAML::Mark& m) {
  if (m.is_null()) return "";
  return fmt::format("line {}, column {}: ", m.line + 1, m.column + 1);
}

std::size_t value_bytes(const json::value& v) { return v.is_string() ? v.as_string().size() : 0; }

// Builds JSON values straight from parser events: no intermediate YAML node tree, so memory
// stays proportional to the output, and every cap is checked as values appear.
class JsonBuilder : public YAML::EventHandler {
 public:
  JsonBuilder(const ManifestLimits& l, std::vector<json::value>& docs) : limits_(l), docs_(docs) {}

  void OnDocumentStart(const YAML::Mark&) override {
    ++document_;
    stack_.clear();
    anchors_.clear();  // anchors never cross documents
    root_.reset();
  }

  void OnDocumentEnd() override {
    if (root_ && !root_->is_null()) {
      if (docs_.size() >= limits_.max_objects)
        fail(Errc::too_large, fmt::format("the manifest has more than {} documents", limits_.max_objects));
      docs_.push_back(std::move(*root_));
    }
    root_.reset();
  }

  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    mark_ = m;
    if (awaiting_key()) fail(Errc::invalid_argument, where(m) + "a mapping key must not be null");
    complete(json::value(nullptr), 1, 0, anchor, true);
  }

  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    mark_ = m;
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) fail(Errc::invalid_argument, where(m) + "alias to an unknown anchor");
    if (awaiting_key()) {
      if (!it->second.value.is_string())
        fail(Errc::invalid_argument, where(m) + "a mapping key must be a string, not a collection or number alias");
      set_key(std::string(it->second.value.as_string()), false);
      return;
    }
    // Each alias copies its target: charge the copy so "billion laughs" hits the caps.
    complete(it->second.value, it->second.nodes, it->second.bytes, 0, true);
  }

  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor, const std::string& text) override {
    mark_ = m;
    if (awaiting_key()) {
      set_key(text, tag == "?");
      return;
    }
    json::value v = resolve_tagged(tag, text, m);
    std::size_t b = value_bytes(v);
    complete(std::move(v), 1, b, anchor, true);
  }

  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(m, anchor, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(m, anchor, true);
  }
  void OnMapEnd() override { close(); }

  std::size_t document() const { return document_; }

 private:
  struct Frame {
    json::value value;
    bool is_map = false;
    std::optional<std::string> key;
    bool key_plain = false;
    YAML::anchor_t anchor = 0;
    std::size_t nodes = 1, bytes = 0;
    std::vector<json::object> merges;  // `<<` sources, applied when the map closes
  };
  struct Anchored {
    json::value value;
    std::size_t nodes = 0, bytes = 0;
  };

  bool awaiting_key() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().key; }

  void set_key(std::string key, bool plain) {
    auto& f = stack_.back();
    f.key = std::move(key);
    f.key_plain = plain;
  }

  void open(const YAML::Mark& m, YAML::anchor_t anchor, bool is_map) {
    mark_ = m;
    if (awaiting_key()) fail(Errc::invalid_argument, where(m) + "complex (non-scalar) mapping keys are not supported");
    if (stack_.size() >= limits_.max_depth)
      fail(Errc::too_large, where(m) + fmt::format("the manifest nests deeper than {} levels", limits_.max_depth));
    Frame f;
    f.is_map = is_map;
    f.anchor = anchor;
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
           fmt::format("the manifest expands to more than {} values (aliases included)", limits_.max_nodes));
    if (total_bytes_ > limits_.max_value_bytes)
      fail(Errc::too_large, fmt::format("the manifest expands to more than {} bytes of strings (aliases included)",
                                        limits_.max_value_bytes));
  }

  // A finished value: recorded under its anchor, then attached to its parent (or the root).
  void complete(json::value v, std::size_t nodes, std::size_t bytes, YAML::anchor_t anchor, bool charge_now) {
    if (charge_now) charge(nodes, bytes);
    if (anchor) anchors_[anchor] = Anchored{v, nodes, bytes};
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

  json::value resolve_tagged(const std::string& tag, const std::string& text, const YAML::Mark& m) {
    if (tag == "?") return resolve_plain_scalar(text);
    if (tag == "!") return json::value(json::string(text));
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
  std::vector<json::value>& docs_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  std::optional<json::value> root_;
  std::size_t total_nodes_ = 0, total_bytes_ = 0, document_ = 0;
  YAML::Mark mark_ = YAML::Mark::null_mark();
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

std::vector<json::value> yaml_to_json(std::string_view text, const ManifestLimits& limits) {
  if (text.size() > limits.max_bytes)
    fail(Errc::too_large,
         fmt::format("the manifest is {} bytes; the limit is {} bytes", text.size(), limits.max_bytes));
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
  std::istringstream in{std::string(text)};
  JsonBuilder b(limits, docs);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(b)) {
    }
  } catch (const YAML::Exception& e) {
    fail(Errc::invalid_argument, fmt::format("the manifest is not valid YAML: {}{}", where(e.mark), e.msg));
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("manifest document {}: {}", std::max<std::size_t>(b.document(), 1), e.what()));
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
