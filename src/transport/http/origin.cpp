#include "transport/http/origin.hpp"

#include <algorithm>

namespace mk::transport::http {

namespace {
std::string_view strip_port(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    auto e = h.find(']');
    return e == std::string_view::npos ? h : h.substr(0, e + 1);
  }
  auto c = h.rfind(':');
  return c == std::string_view::npos ? h : h.substr(0, c);
}
bool loopback_name(std::string_view h) {
  return h == "localhost" || h == "127.0.0.1" || h == "[::1]" || h.starts_with("127.");
}
}  // namespace

bool is_loopback_host(std::string_view host) { return loopback_name(strip_port(host)); }

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  for (auto& a : allowed)
    if (a == "*" || a == origin) return true;
  std::string_view rest = origin;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  else if (rest.starts_with("https://")) rest.remove_prefix(8);
  else return false;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  return loopback_name(strip_port(rest));
}

}  // namespace mk::transport::http
