#include "federation/settings.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>

namespace mk::federation {

namespace {
constexpr std::size_t kMaxMappings = 100;  // an operator's list, not a directory

bool privileged_target(std::string_view g) {
  return g == "system:masters" || g == "system:nodes" || g.starts_with("system:kube-");
}

bool sane_group(std::string_view g) {
  if (g.empty() || g.size() > 256) return false;
  return std::none_of(g.begin(), g.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}
}  // namespace

GroupMappings parse_group_mappings(const std::string& text) {
  GroupMappings m;
  if (text.empty()) return m;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    fail(Errc::invalid_argument,
         "--wc-group-mappings must be a JSON object of group names, e.g. {\"idp-admins\":\"ops\"}");
  auto& o = v.as_object();
  if (o.size() > kMaxMappings)
    fail(Errc::invalid_argument, fmt::format("--wc-group-mappings has {} entries; at most {}", o.size(), kMaxMappings));
  for (auto& [k, t] : o) {
    if (!t.is_string())
      fail(Errc::invalid_argument,
           fmt::format("--wc-group-mappings: \"{}\" must map to a string", std::string_view(k)));
    std::string from(k), to(t.as_string());
    if (!sane_group(from) || !sane_group(to))
      fail(Errc::invalid_argument,
           "--wc-group-mappings: group names must be 1..256 characters without control characters");
    if (privileged_target(to))
      fail(Errc::invalid_argument,
           fmt::format("--wc-group-mappings: \"{}\" maps to \"{}\", a privileged system group; refused", from, to));
    m.emplace(std::move(from), std::move(to));
  }
  return m;
}

std::vector<std::string> map_groups(const GroupMappings& m, const std::vector<std::string>& groups) {
  std::vector<std::string> out;
  out.reserve(groups.size());
  for (auto& g : groups) {
    auto it = m.find(g);
    if (it != m.end()) out.push_back(it->second);
    // The API server's own groups are never taken from an identity provider's claim (a group
    // named system:masters there would be cluster-admin on every workload cluster); only an
    // operator's mapping may produce one, and privileged targets are refused at start-up.
    else if (!g.starts_with("system:")) out.push_back(g);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s == "0") return std::chrono::milliseconds(0);
  if (s.empty() || s.size() > 64) return std::nullopt;
  double total_ms = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) return std::nullopt;
    std::string num(s.substr(start, i - start));
    if (std::count(num.begin(), num.end(), '.') > 1 || num == ".") return std::nullopt;
    double n = std::stod(num);
    std::size_t u = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    auto unit = s.substr(u, i - u);
    double factor;
    if (unit == "ns") factor = 1e-6;
    else if (unit == "us" || unit == "µs") factor = 1e-3;
    else if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1e3;
    else if (unit == "m") factor = 60e3;
    else if (unit == "h") factor = 3600e3;
    else return std::nullopt;
    total_ms += n * factor;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
}

}  // namespace mk::federation
