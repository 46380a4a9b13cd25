#include "transport/http/origin.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <cctype>

namespace mk::transport::http {
namespace ip = boost::asio::ip;

namespace {
std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Strict dotted quad: four decimal parts 0-255, no leading zeros, no shorthand ("127.1"),
// no hex or octal: what a browser writes after normalising a URL.
std::optional<ip::address_v4> parse_ipv4(std::string_view s) {
  ip::address_v4::bytes_type b{};
  std::size_t part = 0, i = 0;
  while (part < 4) {
    std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && i - start < 4 && std::isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + (s[i++] - '0');
    std::size_t len = i - start;
    if (len == 0 || len > 3 || v > 255 || (len > 1 && s[start] == '0')) return std::nullopt;
    b[part++] = static_cast<unsigned char>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return ip::address_v4(b);
}

std::optional<ip::address_v6> parse_ipv6(std::string_view s) {
  // No zone ids (fe80::1%eth0), no IPvFuture: only hex digits, ':' and a dotted tail.
  if (s.empty() || s.size() > 45) return std::nullopt;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return std::nullopt;
  boost::system::error_code ec;
  auto a = ip::make_address_v6(std::string(s), ec);
  if (ec) return std::nullopt;
  return a;
}

bool reg_name_ok(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::uint16_t effective_port(const OriginParts& o) {
  if (o.host.port) return *o.host.port;
  return o.scheme == "https" ? 443 : 80;
}
}  // namespace

std::optional<HostPort> parse_host_port(std::string_view s) {
  HostPort hp;
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto inner = s.substr(1, close - 1);
    if (!parse_ipv6(inner)) return std::nullopt;
    hp.host = lower(inner);
    hp.ipv6 = true;
    auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    auto colon = s.find(':');
    auto name = s.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = s.substr(colon + 1);
      has_port = true;
    }
    if (!reg_name_ok(name)) return std::nullopt;
    hp.host = lower(name);
  }
  if (has_port) {
    auto p = parse_port(port);
    if (!p) return std::nullopt;
    hp.port = p;
  }
  return hp;
}

std::optional<OriginParts> parse_origin(std::string_view origin) {
  auto sep = origin.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  OriginParts o;
  o.scheme = lower(origin.substr(0, sep));
  if (o.scheme != "http" && o.scheme != "https") return std::nullopt;
  auto hp = parse_host_port(origin.substr(sep + 3));  // rejects '/', '@', '?', '#'
  if (!hp) return std::nullopt;
  o.host = std::move(*hp);
  return o;
}

bool is_loopback_name(std::string_view host, bool ipv6) {
  if (ipv6) {
    auto a = parse_ipv6(host);
    if (!a) return false;
    if (a->is_loopback()) return true;
    return a->is_v4_mapped() && ip::make_address_v4(ip::v4_mapped, *a).is_loopback();
  }
  if (auto a = parse_ipv4(host)) return a->is_loopback();
  return lower(host) == "localhost";
}

bool is_loopback_address(std::string_view address) {
  bool ipv6 = address.find(':') != std::string_view::npos;
  if (ipv6 && address.size() >= 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  return is_loopback_name(address, ipv6);
}

bool is_loopback_host(std::string_view host_header) {
  auto hp = parse_host_port(host_header);
  return hp && is_loopback_name(hp->host, hp->ipv6);
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  auto o = parse_origin(origin);
  for (auto& a : allowed) {
    if (a == "*" || a == origin) return true;
    if (!o) continue;
    auto p = parse_origin(a);
    if (p && p->scheme == o->scheme && p->host.host == o->host.host && effective_port(*p) == effective_port(*o))
      return true;
  }
  return o && is_loopback_name(o->host.host, o->host.ipv6);
}

}  // namespace mk::transport::http
