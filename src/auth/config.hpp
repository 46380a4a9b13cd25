#pragma once
// The authorization server's settings (from --enable-oauth and friends).
#include "auth/secret.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mk::auth {

struct ProviderConfig {
  std::string kind = "dex";  // dex | google
  std::string issuer;        // discovery at <issuer>/.well-known/openid-configuration
  std::string client_id;
  Secret client_secret;      // may come from a file, re-read when it changes
  std::string connector_id;  // Dex: skips the connector chooser
  std::string k8s_audience;  // Dex cross-client scope audience:server:client_id:<id>
  std::string ca_file;       // extra CA for the provider's TLS
  std::vector<std::string> scopes() const;
};

struct AuthConfig {
  std::string base_url;           // our issuer: scheme://host[:port], no trailing slash
  std::string endpoint = "/mcp";  // the protected MCP endpoint
  std::string resource() const { return base_url + endpoint; }
  std::string callback() const { return base_url + "/oauth/callback"; }
  // Cookies get the __Host- prefix and Secure only when the browser reaches us over https.
  bool secure_cookies() const { return base_url.starts_with("https://"); }

  Secret registration_token;  // Bearer for /oauth/register ("" => none accepted)
  bool allow_public_registration = false;
  std::vector<std::string> trusted_schemes;  // custom redirect schemes that may register without a token
  bool allow_insecure_without_state = false;
  std::size_t max_clients_per_ip = 10;  // registrations per address per window
  std::chrono::seconds registration_window{3600};
  // A registered client is forgotten this long after registration (clients register again);
  // without it unauthenticated registrations would fill the store for good.
  std::chrono::seconds client_ttl{180 * 24 * 3600};
  // Sign-ins started per address per flow_ttl: each stores a flow record until it expires,
  // so an unauthenticated caller could otherwise fill the store.
  std::size_t max_authorizations_per_ip = 120;
  bool downstream = false;  // keep the upstream ID token fresh for the API server
  // How long a browser's consent to one client is remembered (its cookie's lifetime); after it
  // the consent page is shown again.
  std::chrono::seconds consent_ttl{30 * 24 * 3600};
  // Client ID Metadata Documents (cimd.hpp); the two test-only overrides are never set by a
  // flag, only by MCPK_TEST_CIMD_LOOPBACK_HOST / MCPK_TEST_CIMD_CA_FILE.
  bool cimd = false;
  // Authorization requests naming a metadata document URL, per address per minute (each may
  // make us fetch a URL of the caller's choosing).
  std::int64_t cimd_requests_per_ip_per_minute = 60;
  // SSO token forwarding: ID tokens of the provider's issuer for these audiences (other
  // clients of the same provider) are accepted at the MCP endpoint as they are.
  std::vector<std::string> trusted_audiences;
  // Per-user limits. MCP requests: a token bucket per subject in each process (rate per
  // second, burst), 0 = off. Token endpoint: requests per subject and per address per
  // minute, counted in the Store (so across replicas).
  double user_requests_per_second = 100;
  double user_request_burst = 200;
  std::int64_t token_requests_per_user_per_minute = 60;
  std::int64_t token_requests_per_ip_per_minute = 600;
  std::string cimd_test_loopback_host, cimd_test_ca_file;

  std::chrono::seconds access_ttl{3600};
  std::chrono::seconds refresh_ttl{90 * 24 * 3600};
  std::chrono::seconds code_ttl{600};
  std::chrono::seconds flow_ttl{600};  // a sign-in at the provider must finish within this
  // Renew the upstream ID token this long before it expires (downstream OAuth).
  std::chrono::seconds upstream_refresh_margin{120};
  // OAuth requests are a few hundred bytes; registration documents a few KiB.
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_redirect_uris = 10;
  std::size_t max_uri_bytes = 2048;
};

}  // namespace mk::auth
