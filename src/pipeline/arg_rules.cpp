#include "pipeline/arg_rules.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <utility>

namespace mk::pipeline {
namespace {

// Kubernetes' own limits: names are DNS subdomains (253) unless a kind says otherwise; the
// path-segment rule (apimachinery IsValidPathSegmentName) is what every kind shares.
constexpr std::size_t kMaxName = 253;
constexpr std::size_t kMaxLabel = 63;

std::string shorten(std::string_view v) {
  std::string out;
  for (char ch : v.substr(0, 64)) {
    auto u = static_cast<unsigned char>(ch);
    out += (u < 0x20 || u == 0x7f) ? '?' : ch;
  }
  if (v.size() > 64) out += "...";
  return out;
}

std::string check_name(std::string_view v) {
  if (v.empty()) return "must not be empty";
  if (v.size() > kMaxName) return fmt::format("must be at most {} characters", kMaxName);
  if (v == "." || v == "..") return "must not be '.' or '..'";
  for (char ch : v) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '/') return "must not contain '/'";
    if (ch == '%') return "must not contain '%'";
    if (u <= 0x20 || u >= 0x7f) return "must contain only printable ASCII without spaces";
    // Never part of a Kubernetes name; in a URL they would end the path or escape it.
    if (ch == '?' || ch == '#' || ch == '\\') return fmt::format("must not contain '{}'", ch);
  }
  return {};
}

std::string check_label(std::string_view v) {
  if (v.empty()) return "must not be empty";
  if (v.size() > kMaxLabel) return fmt::format("must be at most {} characters", kMaxLabel);
  for (char ch : v)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
      return "must consist of lower-case letters, digits and '-' (an RFC 1123 label)";
  if (v.front() == '-' || v.back() == '-') return "must start and end with a letter or digit";
  return {};
}

// Tool arguments whose values become path segments, by the names every tool uses.
constexpr std::array<std::pair<std::string_view, ArgKind>, 7> kKnown{{
    {"name", ArgKind::object_name},
    {"podName", ArgKind::object_name},
    {"serviceName", ArgKind::object_name},
    {"namespace", ArgKind::dns_label},
    {"container", ArgKind::dns_label},
    {"cluster", ArgKind::dns_label},
    {"names", ArgKind::object_name},
}};

}  // namespace

std::string check_value(ArgKind kind, std::string_view v) {
  return kind == ArgKind::object_name ? check_name(v) : check_label(v);
}

std::optional<ArgKind> kind_of_argument(std::string_view arg) {
  for (auto& [n, k] : kKnown)
    if (n == arg) return k;
  return std::nullopt;
}

void require_valid(ArgKind kind, std::string_view v, std::string_view what) {
  if (auto why = check_value(kind, v); !why.empty())
    fail(Errc::invalid_argument,
         fmt::format("{} \"{}\" is not a valid {}: it {}", what, shorten(v),
                     kind == ArgKind::object_name ? "object name" : "name (RFC 1123 label)", why));
}

void check_arguments(const boost::json::object& args, const std::vector<std::string>& except) {
  for (auto& [key, value] : args) {
    auto kind = kind_of_argument(key);
    if (!kind || std::find(except.begin(), except.end(), key) != except.end()) continue;
    // An empty optional argument means "not given" (the tools' defaults apply).
    if (value.is_string()) {
      if (!value.as_string().empty()) require_valid(*kind, value.as_string(), key);
    } else if (value.is_array()) {
      for (auto& x : value.as_array())
        if (x.is_string()) require_valid(*kind, x.as_string(), key);
    }
  }
}

}  // namespace mk::pipeline
