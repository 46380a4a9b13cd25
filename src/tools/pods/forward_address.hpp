#pragma once
// Where a port-forward may listen. By default only on loopback, so a caller (over HTTP, a
// remote one) cannot expose a pod to the network; the operator can allow other addresses
// (--port-forward-allowed-addresses). Addresses are IP literals or `localhost`: nothing is
// resolved.
#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::tools {

// An IP literal (IPv6 optionally in brackets, no zone) or `localhost` (127.0.0.1); IPv4-mapped
// IPv6 becomes IPv4. std::nullopt for anything else (host names, ports, zones, "127.1").
std::optional<boost::asio::ip::address> parse_forward_address(std::string_view text);

// The operator's list; throws Errc::invalid_argument naming the first entry that is not an
// IP literal.
std::vector<boost::asio::ip::address> parse_allowed_addresses(const std::vector<std::string>& list);

// The address to listen on for a caller's `address` argument: loopback always, anything else
// only when `allowed` lists it (0.0.0.0 and :: only by themselves, not as "any address").
// Throws Errc::invalid_argument (not an address) or Errc::policy_denied naming the flag.
boost::asio::ip::address checked_forward_address(std::string_view requested,
                                                 const std::vector<boost::asio::ip::address>& allowed);

// The local port: 0 (the OS picks) or 1024-65535. Ports below 1024 are refused: binding them
// needs privileges this server should not lend to callers, and they are where local services
// that trust their port live. Throws Errc::invalid_argument.
void check_forward_local_port(std::int64_t port);

}  // namespace mk::tools
