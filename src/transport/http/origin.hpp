#pragma once
// DNS-rebinding protection: Host and Origin checks for a server that may be bound to loopback.
// Everything is parsed, never prefix-matched: "loopback" means an IP literal in 127.0.0.0/8,
// ::1 (or ::ffff:127.x.y.z), or exactly the name `localhost` (any case). A DNS name such as
// `127.0.0.1.nip.io` or `localhost.` is not loopback: its owner decides what it resolves to.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::transport::http {

struct HostPort {
  std::string host;  // lower-cased; an IPv6 literal without its brackets
  bool ipv6 = false;
  std::optional<std::uint16_t> port;
};

// RFC 9110 Host: `reg-name | IPv4 | "[" IPv6 "]"`, then optional `:port`. Nullopt when
// malformed (userinfo, zone ids, bad ports, characters outside a host name, ...).
std::optional<HostPort> parse_host_port(std::string_view s);

struct OriginParts {
  std::string scheme;  // "http" or "https", lower-cased
  HostPort host;
};
// RFC 6454 serialized origin `scheme "://" host [":" port]`: no userinfo, path, query or
// fragment. Nullopt for "null" and anything else.
std::optional<OriginParts> parse_origin(std::string_view origin);

// A bare host (no port, IPv6 without brackets): loopback IP literal or `localhost`.
bool is_loopback_name(std::string_view host, bool ipv6);
// A listen address as given to the listener ("127.0.0.1", "::1", "localhost").
bool is_loopback_address(std::string_view address);
// A Host header value ("localhost:8080", "127.0.0.1", "[::1]:9").
bool is_loopback_host(std::string_view host_header);
// Origin absent => allowed (non-browser clients). Present => loopback origins, or one listed
// (compared after parsing, so case and default-port spellings do not matter), or "*".
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed);

}  // namespace mk::transport::http
