#include "tools/common/args.hpp"

#include <cmath>

namespace mk::tools {

std::string str(const json::object& a, std::string_view key, std::string def) {
  auto* v = a.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : def;
}

std::optional<std::string> opt_str(const json::object& a, std::string_view key) {
  auto* v = a.if_contains(key);
  if (v && v->is_string()) return std::string(v->as_string());
  return std::nullopt;
}

bool flag(const json::object& a, std::string_view key, bool def) {
  auto* v = a.if_contains(key);
  return v && v->is_bool() ? v->as_bool() : def;
}

std::optional<std::int64_t> opt_int(const json::object& a, std::string_view key) {
  auto* v = a.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(std::llround(v->as_double()));
  return std::nullopt;
}

std::vector<std::string> str_list(const json::object& a, std::string_view key) {
  std::vector<std::string> out;
  if (auto* v = a.if_contains(key); v && v->is_array())
    for (auto& x : v->as_array())
      if (x.is_string()) out.emplace_back(x.as_string());
  return out;
}

}  // namespace mk::tools
