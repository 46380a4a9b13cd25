#include "cli/oauth_options.hpp"

#include <fmt/core.h>

#include <fstream>
#include <sstream>

namespace mk::cli {

void add_oauth_flags(CLI::App& app, Config& c, SecretFiles& f) {
  app.add_flag("--enable-oauth", c.enable_oauth,
               "OAuth 2.1 for the streamable-http transport (this server is the "
               "authorization server, signing users in with Dex or Google)");
  app.add_option("--oauth-base-url", c.oauth_base_url,
                 "Public base URL of this server (issuer, e.g. https://mcp.example.com); https unless loopback");
  app.add_option("--oauth-provider", c.oauth_provider, "Upstream identity provider")
      ->default_val("dex")
      ->check(CLI::IsMember({"dex", "google"}));
  app.add_option("--dex-issuer-url", c.dex_issuer_url, "Dex issuer URL")->envname("DEX_ISSUER_URL");
  app.add_option("--dex-client-id", c.dex_client_id, "This server's client id at Dex")->envname("DEX_CLIENT_ID");
  app.add_option("--dex-client-secret", c.dex_client_secret, "This server's client secret at Dex")
      ->envname("DEX_CLIENT_SECRET");
  app.add_option("--dex-client-secret-file", f.dex_client_secret, "File holding --dex-client-secret");
  app.add_option("--dex-connector-id", c.dex_connector_id, "Dex connector to use (skips Dex's chooser)")
      ->envname("DEX_CONNECTOR_ID");
  app.add_option("--dex-ca-file", c.dex_ca_file, "Extra CA (PEM) trusted for Dex")->envname("DEX_CA_FILE");
  app.add_option("--dex-k8s-authenticator-client-id", c.dex_k8s_authenticator_client_id,
                 "Client id the API servers trust for Dex ID tokens (asked for with Dex's cross-client scope)")
      ->envname("DEX_K8S_AUTHENTICATOR_CLIENT_ID");
  app.add_option("--google-client-id", c.google_client_id, "Google OAuth client id")->envname("GOOGLE_CLIENT_ID");
  app.add_option("--google-client-secret", c.google_client_secret, "Google OAuth client secret")
      ->envname("GOOGLE_CLIENT_SECRET");
  app.add_option("--google-client-secret-file", f.google_client_secret, "File holding --google-client-secret");
  app.add_option("--registration-token", c.registration_token, "Bearer token required by /oauth/register");
  app.add_option("--registration-token-file", f.registration_token, "File holding --registration-token");
  app.add_flag("--allow-public-registration", c.allow_public_registration,
               "Allow client registration without the registration token");
  app.add_flag("--allow-insecure-auth-without-state", c.allow_insecure_auth_without_state,
               "Accept authorization requests without state (CSRF protection off)");
  app.add_option("--max-clients-per-ip", c.max_clients_per_ip, "Client registrations per address per hour")
      ->default_val(10)
      ->check(CLI::Range(1, 100000));
  app.add_option("--trusted-public-registration-schemes", c.trusted_public_registration_schemes,
                 "Comma-separated custom redirect URI schemes (e.g. cursor,vscode) that may register without the token")
      ->delimiter(',');
  app.add_flag("--enable-cimd", c.enable_cimd,
               "Client ID Metadata Documents: an https client_id URL is fetched (public addresses only) as the "
               "client's registration")
      ->envname("ENABLE_CIMD");
  app.add_option("--oauth-encryption-key", c.oauth_encryption_key,
                 "AES-256 key (64 hex digits or base64 of 32 bytes) sealing stored upstream tokens")
      ->envname("OAUTH_ENCRYPTION_KEY");
  app.add_option("--oauth-encryption-key-file", f.oauth_encryption_key, "File holding --oauth-encryption-key");
  app.add_option("--oauth-storage-type", c.oauth_storage_type, "Where OAuth state lives")
      ->envname("OAUTH_STORAGE_TYPE")
      ->default_val("memory")
      ->check(CLI::IsMember({"memory", "valkey"}));
  app.add_option("--valkey-url", c.valkey_url, "Valkey/Redis address (host:port)")->envname("VALKEY_URL");
  app.add_option("--valkey-password", c.valkey_password, "Valkey password")->envname("VALKEY_PASSWORD");
  app.add_option("--valkey-password-file", f.valkey_password, "File holding --valkey-password");
  app.add_flag("--valkey-tls", c.valkey_tls, "TLS to Valkey")->envname("VALKEY_TLS_ENABLED");
  app.add_option("--valkey-key-prefix", c.valkey_key_prefix, "Key prefix in Valkey")
      ->envname("VALKEY_KEY_PREFIX")
      ->default_val("mcp:");
  app.add_option("--valkey-db", c.valkey_db, "Valkey database number")
      ->envname("VALKEY_DB")
      ->default_val(0)
      ->check(CLI::Range(0, 15));
  app.add_flag("--downstream-oauth", c.downstream_oauth,
               "Call the API server as the signed-in user (their Dex ID token), never with the server's credentials");
  app.add_option("--oauth-trusted-audiences", c.oauth_trusted_audiences,
                 "Comma-separated client ids of the same identity provider whose ID tokens are accepted at the MCP "
                 "endpoint as they are (SSO token forwarding; with --downstream-oauth sent on to the API server)")
      ->envname("OAUTH_TRUSTED_AUDIENCES")
      ->delimiter(',');
  app.add_option("--oauth-user-rate-limit", c.oauth_user_rate_limit,
                 "MCP requests per second per signed-in user in this process (0: no limit); beyond it 429")
      ->default_val(100)
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--oauth-user-rate-burst", c.oauth_user_rate_burst, "Burst of --oauth-user-rate-limit")
      ->default_val(200)
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--oauth-token-rate-limit", c.oauth_token_rate_limit,
                 "Token endpoint requests per user per minute (all replicas); beyond it 429")
      ->default_val(60)
      ->check(CLI::Range(1, 1000000));
}

namespace {
// A secret file: whole content, one trailing newline dropped. "" + error when unreadable.
bool read_secret(const std::string& path, std::string& into, std::string& err) {
  if (path.empty()) return true;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = fmt::format("cannot read {}", path);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  into = ss.str();
  while (!into.empty() && (into.back() == '\n' || into.back() == '\r')) into.pop_back();
  return true;
}
}  // namespace

std::string finish_oauth_flags(Config& c, const SecretFiles& f) {
  c.dex_client_secret_file = f.dex_client_secret;
  c.google_client_secret_file = f.google_client_secret;
  c.registration_token_file = f.registration_token;
  c.oauth_encryption_key_file = f.oauth_encryption_key;
  c.valkey_password_file = f.valkey_password;
  std::string err;
  if (!read_secret(f.dex_client_secret, c.dex_client_secret, err) ||
      !read_secret(f.google_client_secret, c.google_client_secret, err) ||
      !read_secret(f.registration_token, c.registration_token, err) ||
      !read_secret(f.oauth_encryption_key, c.oauth_encryption_key, err) ||
      !read_secret(f.valkey_password, c.valkey_password, err))
    return err;
  if (!c.enable_oauth) {
    if (c.downstream_oauth) return "--downstream-oauth needs --enable-oauth";
    return "";
  }
  if (c.transport != "streamable-http") return "--enable-oauth needs --transport streamable-http";
  for (auto& a : c.oauth_trusted_audiences)
    if (a.empty() || a.size() > 256) return "--oauth-trusted-audiences: client ids of 1 to 256 characters";
  for (auto& s : c.trusted_public_registration_schemes) {
    bool ok = !s.empty() && s.size() <= 64 && std::isalpha(static_cast<unsigned char>(s[0]));
    for (char ch : s) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '+' || ch == '-' || ch == '.');
    if (!ok || s == "javascript" || s == "data" || s == "file" || s == "ftp" || s == "http" || s == "https")
      return fmt::format("--trusted-public-registration-schemes: \"{}\" is not an acceptable custom scheme", s);
  }
  auto& id = c.dex_k8s_authenticator_client_id;
  if (!id.empty()) {
    bool ok = id.size() <= 256 && std::isalnum(static_cast<unsigned char>(id[0]));
    for (char ch : id) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-');
    if (!ok) return "--dex-k8s-authenticator-client-id: letters, digits, '.', '_', '-' (at most 256)";
  }
  return "";
}

}  // namespace mk::cli
