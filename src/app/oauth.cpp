#include "app/oauth.hpp"

#include "auth/crypto.hpp"
#include "auth/memory_store.hpp"
#include "auth/provider.hpp"
#include "auth/valkey_store.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/url/parse.hpp>

#include <cstdlib>
#include <optional>

namespace mk {

namespace {
// A secret flag's value, or its file (re-read when it changes) when one was given.
auth::Secret secret(const std::string& value, const std::string& file) {
  if (file.empty()) return auth::Secret(value);
  return auth::Secret::from_file(file);
}

bool loopback_host(std::string_view h) { return h == "127.0.0.1" || h == "localhost" || h == "::1" || h == "[::1]"; }

std::string checked_base_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.empty()) fail(Errc::invalid_argument, "--enable-oauth needs --oauth-base-url (this server's public URL)");
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->host().empty() || u->has_query() || (u->scheme() != "https" && u->scheme() != "http"))
    fail(Errc::invalid_argument, "--oauth-base-url must be an http(s) URL without query");
  if (u->scheme() == "http" && !loopback_host(u->host_address()))
    fail(Errc::invalid_argument, "--oauth-base-url must use https (http only on a loopback address)");
  return url;
}
}  // namespace

std::unique_ptr<auth::AuthServer> make_auth_server(boost::asio::any_io_executor ex, const Config& c,
                                                   const std::string& endpoint) {
  auth::AuthConfig ac;
  ac.base_url = checked_base_url(c.oauth_base_url);
  ac.endpoint = endpoint;
  ac.registration_token = secret(c.registration_token, c.registration_token_file);
  ac.allow_public_registration = c.allow_public_registration;
  ac.trusted_schemes = c.trusted_public_registration_schemes;
  ac.allow_insecure_without_state = c.allow_insecure_auth_without_state;
  ac.max_clients_per_ip = c.max_clients_per_ip;
  ac.downstream = c.downstream_oauth;
  // SSO passthrough to workload clusters needs the user's ID token, kept fresh, in every call's
  // Identity; the management cluster still uses the server's credentials (Clusters: downstream_oauth).
  if (c.enable_capi && c.wc_auth_mode == "sso-passthrough") ac.downstream = true;
  // Test-only: renew the upstream ID token this long before expiry (e2e renews on every call).
  if (const char* m = std::getenv("MCPK_TEST_UPSTREAM_REFRESH_MARGIN_SECONDS"); m && *m) {
    ac.upstream_refresh_margin = std::chrono::seconds(std::strtol(m, nullptr, 10));
    log::warn("MCPK_TEST_UPSTREAM_REFRESH_MARGIN_SECONDS: upstream tokens are renewed {} s before expiry (tests only)",
              ac.upstream_refresh_margin.count());
  }
  ac.cimd = c.enable_cimd;
  ac.trusted_audiences = c.oauth_trusted_audiences;
  ac.user_requests_per_second = c.oauth_user_rate_limit;
  ac.user_request_burst = c.oauth_user_rate_burst;
  ac.token_requests_per_user_per_minute = c.oauth_token_rate_limit;
  // Test-only: CIMD documents from one loopback host, over TLS with a test CA (e2e).
  if (const char* h = std::getenv("MCPK_TEST_CIMD_LOOPBACK_HOST"); h && *h && ac.cimd) {
    ac.cimd_test_loopback_host = h;
    if (const char* ca = std::getenv("MCPK_TEST_CIMD_CA_FILE"); ca && *ca) ac.cimd_test_ca_file = ca;
    log::warn("MCPK_TEST_CIMD_LOOPBACK_HOST: client metadata documents may come from {} on loopback (tests only)", h);
  }
  if (ac.registration_token.empty() && !ac.allow_public_registration && ac.trusted_schemes.empty() && !ac.cimd)
    fail(Errc::invalid_argument,
         "--enable-oauth: no client could register; give --registration-token, --allow-public-registration, "
         "--trusted-public-registration-schemes or --enable-cimd");
  if (ac.allow_public_registration) log::warn("OAuth: public client registration is allowed");
  if (ac.allow_insecure_without_state)
    log::warn("OAuth: authorization requests without state are accepted (no CSRF protection)");

  auth::ProviderConfig pc;
  pc.kind = c.oauth_provider;
  if (pc.kind == "dex") {
    pc.issuer = c.dex_issuer_url;
    pc.client_id = c.dex_client_id;
    pc.client_secret = secret(c.dex_client_secret, c.dex_client_secret_file);
    pc.connector_id = c.dex_connector_id;
    pc.k8s_audience = c.dex_k8s_authenticator_client_id;
    pc.ca_file = c.dex_ca_file;
    if (pc.issuer.empty() || pc.client_id.empty() || pc.client_secret.empty())
      fail(Errc::invalid_argument,
           "--oauth-provider dex needs --dex-issuer-url, --dex-client-id and --dex-client-secret");
  } else {
    pc.issuer = "https://accounts.google.com";
    // Test-only: the e2e suite points the Google provider at the local Dex (same protocol).
    if (const char* t = std::getenv("MCPK_TEST_GOOGLE_ISSUER"); t && *t) {
      pc.issuer = t;
      pc.ca_file = c.dex_ca_file;
      log::warn("MCPK_TEST_GOOGLE_ISSUER: the google provider uses {} (tests only)", pc.issuer);
    }
    pc.client_id = c.google_client_id;
    pc.client_secret = secret(c.google_client_secret, c.google_client_secret_file);
    if (pc.client_id.empty() || pc.client_secret.empty())
      fail(Errc::invalid_argument, "--oauth-provider google needs --google-client-id and --google-client-secret");
    if (c.downstream_oauth) fail(Errc::invalid_argument, "--downstream-oauth needs --oauth-provider dex");
  }
  while (!pc.issuer.empty() && pc.issuer.back() == '/') pc.issuer.pop_back();
  // The client secret and users' tokens travel to the issuer: TLS, except to a local one.
  if (auto iu = boost::urls::parse_absolute_uri(pc.issuer);
      !iu || (iu->scheme() != "https" && !(iu->scheme() == "http" && loopback_host(iu->host_address()))))
    fail(Errc::invalid_argument, "--dex-issuer-url must be an https URL (http only on a loopback address)");
  if (!ac.trusted_audiences.empty()) {
    std::string list;
    for (auto& a : ac.trusted_audiences) list += (list.empty() ? "" : ",") + a;
    log::warn("OAuth: SSO token forwarding on: ID tokens from {} for {} are accepted at the MCP endpoint", pc.issuer,
              list);
  }
  if (c.downstream_oauth && pc.k8s_audience.empty())
    log::warn(
        "--downstream-oauth without --dex-k8s-authenticator-client-id: the API server must trust ID tokens "
        "issued to {} itself",
        pc.client_id);

  std::unique_ptr<auth::Store> store;
  if (c.oauth_storage_type == "valkey") {
    if (c.valkey_url.empty()) fail(Errc::invalid_argument, "--oauth-storage-type valkey needs --valkey-url");
    auth::ValkeyOptions vo;
    vo.url = c.valkey_url;
    vo.password = secret(c.valkey_password, c.valkey_password_file);
    vo.tls = c.valkey_tls;
    vo.key_prefix = c.valkey_key_prefix;
    vo.db = c.valkey_db;
    store = auth::make_valkey_store(ex, std::move(vo));
    // Replicas share tokens whose upstream parts are sealed: they need one key.
    if (c.oauth_encryption_key.empty())
      log::warn(
          "--oauth-storage-type valkey without --oauth-encryption-key: other replicas cannot open this one's "
          "sealed upstream tokens, and none survive a restart");
  } else {
    store = auth::make_memory_store();
  }

  std::optional<auth::Sealer> sealer;
  if (c.oauth_encryption_key.empty()) {
    log::warn("OAuth: no --oauth-encryption-key; a random key is used, so stored tokens do not survive a restart");
    sealer.emplace(auth::sha256(auth::random_token(32)));
  } else {
    sealer.emplace(auth::Sealer::from_secret(secret(c.oauth_encryption_key, c.oauth_encryption_key_file)));
  }
  auto provider = auth::make_oidc_provider(ex, pc, ac.callback());
  log::info("OAuth on: issuer {}, provider {} ({}), resource {}", ac.base_url, pc.kind, pc.issuer, ac.resource());
  return std::make_unique<auth::AuthServer>(std::move(ex), std::move(ac), std::move(store), std::move(*sealer),
                                            std::move(provider));
}

}  // namespace mk
