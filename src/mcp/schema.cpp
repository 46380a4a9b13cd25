#include "mcp/schema.hpp"

#include <fmt/core.h>

#include <cmath>

namespace mcp {
namespace json = boost::json;
namespace {

bool type_matches(const json::value& v, std::string_view t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_bool();
  if (t == "null") return v.is_null();
  if (t == "integer") {
    if (v.is_int64() || v.is_uint64()) return true;
    if (v.is_double()) {
      // Integral and within int64, where the tools read it (casting beyond it is undefined).
      constexpr double kTwoTo63 = 9223372036854775808.0;
      double d = v.as_double();
      return d >= -kTwoTo63 && d < kTwoTo63 && d == std::trunc(d);
    }
    return false;
  }
  if (t == "number") return v.is_number();
  return true;
}

std::string type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: return "object";
    case json::kind::array: return "array";
    case json::kind::string: return "string";
    case json::kind::bool_: return "boolean";
    case json::kind::null: return "null";
    case json::kind::double_: return "number";
    default: return "integer";
  }
}

double num(const json::value& v) { return v.to_number<double>(); }

std::string label(const std::string& path) { return path.empty() ? "arguments" : "argument '" + path + "'"; }

}  // namespace

std::string validate(const json::value& v, const json::object& s, const std::string& path) {
  if (auto* t = s.if_contains("type")) {
    bool ok = false;
    std::string expected;
    if (t->is_string()) {
      ok = type_matches(v, t->as_string());
      expected = t->as_string();
    } else if (t->is_array()) {
      for (auto& e : t->as_array()) {
        if (!expected.empty()) expected += " or ";
        expected += e.as_string();
        ok = ok || type_matches(v, e.as_string());
      }
    }
    if (!ok) return fmt::format("{} must be {}, got {}", label(path), expected, type_name(v));
  }
  if (auto* e = s.if_contains("enum"); e && e->is_array()) {
    bool found = false;
    for (auto& x : e->as_array()) found = found || x == v;
    if (!found) return fmt::format("{} must be one of {}", label(path), json::serialize(*e));
  }
  if (v.is_string()) {
    auto n = v.as_string().size();
    if (auto* m = s.if_contains("minLength"); m && n < m->to_number<std::size_t>())
      return fmt::format("{} must be at least {} characters", label(path), m->to_number<std::size_t>());
    if (auto* m = s.if_contains("maxLength"); m && n > m->to_number<std::size_t>())
      return fmt::format("{} must be at most {} characters", label(path), m->to_number<std::size_t>());
  }
  if (v.is_number()) {
    if (auto* m = s.if_contains("minimum"); m && num(v) < num(*m))
      return fmt::format("{} must be >= {}", label(path), json::serialize(*m));
    if (auto* m = s.if_contains("maximum"); m && num(v) > num(*m))
      return fmt::format("{} must be <= {}", label(path), json::serialize(*m));
  }
  if (v.is_array()) {
    auto& a = v.as_array();
    if (auto* m = s.if_contains("minItems"); m && a.size() < m->to_number<std::size_t>())
      return fmt::format("{} must have at least {} items", label(path), m->to_number<std::size_t>());
    if (auto* m = s.if_contains("maxItems"); m && a.size() > m->to_number<std::size_t>())
      return fmt::format("{} must have at most {} items", label(path), m->to_number<std::size_t>());
    if (auto* it = s.if_contains("items"); it && it->is_object()) {
      for (std::size_t i = 0; i < a.size(); ++i) {
        auto err = validate(a[i], it->as_object(), fmt::format("{}[{}]", path, i));
        if (!err.empty()) return err;
      }
    }
  }
  if (v.is_object()) {
    auto& o = v.as_object();
    const json::object* props = nullptr;
    if (auto* p = s.if_contains("properties"); p && p->is_object()) props = &p->as_object();
    if (auto* r = s.if_contains("required"); r && r->is_array()) {
      for (auto& name : r->as_array()) {
        if (!o.contains(name.as_string()))
          return fmt::format("missing required argument '{}{}'", path.empty() ? "" : path + ".",
                             std::string_view(name.as_string()));
      }
    }
    auto* ap = s.if_contains("additionalProperties");
    for (auto& [k, val] : o) {
      std::string sub = path.empty() ? std::string(k) : path + "." + std::string(k);
      const json::value* ps = props ? props->if_contains(k) : nullptr;
      if (ps && ps->is_object()) {
        auto err = validate(val, ps->as_object(), sub);
        if (!err.empty()) return err;
      } else if (ap && ap->is_bool() && !ap->as_bool()) {
        std::string known;
        if (props)
          for (auto& [pk, pv] : *props) known += (known.empty() ? "" : ", ") + std::string(pk);
        return fmt::format("unknown argument '{}' (accepted: {})", sub, known);
      } else if (ap && ap->is_object()) {
        auto err = validate(val, ap->as_object(), sub);
        if (!err.empty()) return err;
      }
    }
  }
  return {};
}

}  // namespace mcp
