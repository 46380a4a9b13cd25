#include "tools/pods/forward_address.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

namespace mk::tools {
namespace ip = boost::asio::ip;

std::optional<ip::address> parse_forward_address(std::string_view text) {
  if (text == "localhost") return ip::address(ip::address_v4::loopback());
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (text.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]"
  }
  // inet_pton underneath: no names, no shorthand IPv4 ("127.1"), no leading zeros. A zone
  // ("fe80::1%eth0") names an interface, which the operator's list would have to match too.
  if (text.empty() || text.size() > 64 || text.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::address(ip::make_address_v4(ip::v4_mapped, a.to_v6()));
  return a;
}

std::vector<ip::address> parse_allowed_addresses(const std::vector<std::string>& list) {
  std::vector<ip::address> out;
  for (auto& s : list) {
    auto a = parse_forward_address(s);
    if (!a || s == "localhost")
      fail(Errc::invalid_argument,
           fmt::format("--port-forward-allowed-addresses: \"{}\" is not an IP address (names are not resolved)", s));
    out.push_back(*a);
  }
  return out;
}

ip::address checked_forward_address(std::string_view requested, const std::vector<ip::address>& allowed) {
  auto a = parse_forward_address(requested);
  if (!a)
    fail(Errc::invalid_argument,
         fmt::format("address \"{}\" is not an IP address or localhost (names are not resolved)",
                     requested.substr(0, 100)));
  if (a->is_loopback()) return *a;
  for (auto& ok : allowed)
    if (ok == *a) return *a;
  fail(Errc::policy_denied,
       fmt::format("address \"{}\" is not loopback: port-forwards listen on 127.0.0.1 or ::1 unless the server's "
                   "operator allows the address with --port-forward-allowed-addresses",
                   a->to_string()));
}

void check_forward_local_port(std::int64_t port) {
  if (port < 0 || port > 65535)
    fail(Errc::invalid_argument, fmt::format("local port {} is out of range 0-65535 (0 picks a free one)", port));
  if (port > 0 && port < 1024)
    fail(Errc::invalid_argument,
         fmt::format("local port {} is privileged (below 1024); use 1024-65535, or 0 to pick a free one", port));
}

}  // namespace mk::tools
