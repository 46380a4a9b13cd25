#pragma once
// The authorization server's settings (from --enable-oauth and friends).
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace mk::auth {

struct ProviderConfig {
  std::string kind = "dex";  // dex | google
  std::string issuer;        // discovery at <issuer>/.well-known/openid-configuration
  std::string client_id;
  std::string client_secret;
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

  std::string registration_token;  // Bearer for /oauth/register ("" => none accepted)
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
