#pragma once
// Client ID Metadata Documents (--enable-cimd; draft-ietf-oauth-client-id-metadata-document):
// a client names itself by an https URL and we fetch its registration from there. The URL is
// the caller's text, so the fetch is SSRF-hardened: the host is resolved once, every address
// must be public (no loopback, private, link-local, multicast, unspecified, also when wrapped
// in IPv6), the connection goes to a checked address, redirects are not followed, the answer
// is capped and the exchange has a deadline. Documents are cached, bounded, for a few minutes.
#include "auth/records.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace mk::auth {

class HttpClient;

struct CimdOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // a static JSON file; slower is not a host to wait for
  std::size_t max_bytes = 5 * 1024;                            // the draft's suggested limit for a document
  std::chrono::seconds ttl{300};                               // re-fetched after this (clients may change it)
  std::size_t max_entries = 256;                               // cache bound; the least fresh entry goes first
  // Fetches in flight at once: each holds a socket for up to `timeout`, and the URLs are the
  // callers' to choose (beyond it: invalid_client, try again).
  std::size_t max_in_flight = 16;
  std::size_t max_redirect_uris = 10;
  std::size_t max_uri_bytes = 2048;
  // Test-only (MCPK_TEST_CIMD_LOOPBACK_HOST / MCPK_TEST_CIMD_CA_FILE): this one host name may
  // resolve to loopback addresses, and this CA is trusted besides the system store.
  std::string test_loopback_host;
  std::string test_ca_file;
};

// Whether a client_id is meant as a metadata document URL (it has a scheme).
bool looks_like_url(std::string_view client_id);
// "" when `url` may name a document: https, a host, a path other than "/", no user info, no
// fragment, no dot segments, at most max_bytes; else why not.
std::string check_cimd_url(std::string_view url, std::size_t max_bytes);
// A public unicast address: false for loopback, private (RFC 1918, ULA), shared (100.64/10),
// link-local, multicast, unspecified, broadcast, reserved and documentation ranges, and for
// IPv6 forms that embed such an IPv4 address (mapped, compatible, NAT64, 6to4).
bool public_address(const boost::asio::ip::address& a);
// Validates a fetched document for `url`; throws OAuthError invalid_client with the reason.
ClientRecord parse_cimd_document(std::string_view url, std::string_view body, const CimdOptions& opts);

class CimdResolver {
 public:
  CimdResolver(boost::asio::any_io_executor ex, CimdOptions opts);
  ~CimdResolver();
  // The client a document URL describes (cached); throws OAuthError invalid_client saying why
  // it cannot be used (unsafe URL or address, unreachable, not a valid document).
  boost::asio::awaitable<ClientRecord> resolve(std::string url);

 private:
  struct Entry {
    ClientRecord client;
    std::chrono::steady_clock::time_point expires;
  };
  CimdOptions opts_;
  std::unique_ptr<HttpClient> http_;
  std::map<std::string, Entry> cache_;
  std::size_t in_flight_ = 0;
};

}  // namespace mk::auth
