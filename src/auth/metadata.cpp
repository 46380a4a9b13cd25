#include "auth/oauth_error.hpp"
#include "auth/server.hpp"
#include "instrumentation/metrics.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>

#include <boost/json.hpp>

namespace mk::auth {
namespace asio = boost::asio;
namespace json = boost::json;

AuthServer::AuthServer(asio::any_io_executor ex, AuthConfig cfg, std::unique_ptr<Store> store, Sealer sealer,
                       std::shared_ptr<Provider> provider)
    : ex_(std::move(ex)), cfg_(std::move(cfg)), store_(std::move(store)), sealer_(std::move(sealer)),
      provider_(std::move(provider)), tokens_(*store_, sealer_, cfg_),
      user_limit_(cfg_.user_requests_per_second, cfg_.user_request_burst) {
  describe_oauth_metrics();
  if (cfg_.cimd) {
    CimdOptions o;
    o.max_redirect_uris = cfg_.max_redirect_uris;
    o.max_uri_bytes = cfg_.max_uri_bytes;
    o.test_loopback_host = cfg_.cimd_test_loopback_host;
    o.test_ca_file = cfg_.cimd_test_ca_file;
    cimd_ = std::make_unique<CimdResolver>(ex_, std::move(o));
  }
}

void describe_oauth_metrics() {
  auto& r = metrics::Registry::global();
  r.describe("oauth_downstream_auth_total", "counter",
             "Kubernetes clients chosen for a user's own token (downstream OAuth), by result.");
  r.describe("oauth_client_registered_total", "counter", "OAuth clients registered (RFC 7591).");
  r.describe("oauth_token_issued_total", "counter", "Access/refresh token pairs issued, by grant type.");
  r.describe("oauth_upstream_refresh_total", "counter", "Upstream (IdP) ID token renewals, by result.");
  r.describe("oauth_token_reuse_detected_total", "counter", "Rotated refresh tokens presented again (family revoked).");
  r.describe("oauth_code_reuse_detected_total", "counter", "Authorization codes presented again (grant revoked).");
  r.describe("oauth_pkce_validation_failed_total", "counter", "Token requests whose code_verifier did not match.");
  r.describe("oauth_rejections_total", "counter", "OAuth requests refused, by endpoint and reason.");
  r.describe("oauth_forwarded_id_tokens_total", "counter",
             "Provider ID tokens presented at the MCP endpoint (--oauth-trusted-audiences), by result.");
}

void count_rejection(std::string_view endpoint, std::string_view reason) {
  metrics::Registry::global().inc("oauth_rejections_total",
                                  {{"endpoint", std::string(endpoint)}, {"reason", std::string(reason)}});
}

bool AuthServer::handles(std::string_view path) const {
  return path.starts_with("/.well-known/oauth-protected-resource") ||
         path == "/.well-known/oauth-authorization-server" || path.starts_with("/oauth/");
}

std::string AuthServer::resource_metadata_url() const {
  return cfg_.base_url + "/.well-known/oauth-protected-resource" + cfg_.endpoint;
}

HttpReply AuthServer::protected_resource_metadata() const {
  json::object o{{"resource", cfg_.resource()},
                 {"authorization_servers", json::array{json::value(cfg_.base_url)}},
                 {"bearer_methods_supported", json::array{"header"}},
                 {"resource_name", "mcp-kubernetes"}};
  auto r = json_reply(200, o);
  r.headers = {{"Cache-Control", "max-age=300"}};
  return r;
}

HttpReply AuthServer::authorization_server_metadata() const {
  auto& b = cfg_.base_url;
  json::object o{
      {"issuer", b},
      {"authorization_endpoint", b + "/oauth/authorize"},
      {"token_endpoint", b + "/oauth/token"},
      {"registration_endpoint", b + "/oauth/register"},
      {"revocation_endpoint", b + "/oauth/revoke"},
      {"introspection_endpoint", b + "/oauth/introspect"},
      {"response_types_supported", json::array{"code"}},
      {"grant_types_supported", json::array{"authorization_code", "refresh_token"}},
      {"code_challenge_methods_supported", json::array{"S256"}},
      {"token_endpoint_auth_methods_supported", json::array{"none", "client_secret_basic", "client_secret_post"}},
      {"revocation_endpoint_auth_methods_supported", json::array{"none", "client_secret_basic", "client_secret_post"}},
      {"introspection_endpoint_auth_methods_supported", json::array{"client_secret_basic", "client_secret_post"}},
      {"authorization_response_iss_parameter_supported", true},
      {"client_id_metadata_document_supported", cfg_.cimd}};
  auto r = json_reply(200, o);
  r.headers = {{"Cache-Control", "max-age=300"}};
  return r;
}

asio::awaitable<HttpReply> AuthServer::handle(HttpRequest req) {
  const auto& p = req.path;
  // A metric label: one of the known endpoints, never the caller's path (every unknown path
  // would otherwise add a series to the unauthenticated /metrics).
  std::string endpoint = "other";
  for (std::string_view known : {"register", "authorize", "consent", "callback", "token", "revoke", "introspect"})
    if (p == "/oauth/" + std::string(known)) endpoint = known;
  if (p.starts_with("/.well-known/")) endpoint = "metadata";
  try {
    if (req.body.size() > cfg_.max_body_bytes)
      oauth_fail(413, "invalid_request", fmt::format("request body exceeds {} bytes", cfg_.max_body_bytes));
    auto want = [&](std::string_view m) {
      if (req.method != m) oauth_fail(405, "invalid_request", fmt::format("use {}", m));
    };
    if (p == "/.well-known/oauth-protected-resource" || p == "/.well-known/oauth-protected-resource" + cfg_.endpoint) {
      want("GET");
      co_return protected_resource_metadata();
    }
    if (p == "/.well-known/oauth-authorization-server") {
      want("GET");
      co_return authorization_server_metadata();
    }
    if (p == "/oauth/register") {
      want("POST");
      auto r = co_await register_client(req);
      co_return r;
    }
    if (p == "/oauth/authorize") {
      if (req.method != "GET" && req.method != "POST") want("GET");
      auto r = co_await authorize(req);
      co_return r;
    }
    if (p == "/oauth/consent") {
      want("POST");
      auto r = co_await consent(req);
      co_return r;
    }
    if (p == "/oauth/callback") {
      want("GET");
      auto r = co_await callback(req);
      co_return r;
    }
    if (p == "/oauth/token") {
      want("POST");
      auto r = co_await token(req);
      co_return r;
    }
    if (p == "/oauth/revoke") {
      want("POST");
      auto r = co_await revoke(req);
      co_return r;
    }
    if (p == "/oauth/introspect") {
      want("POST");
      auto r = co_await introspect(req);
      co_return r;
    }
    oauth_fail(404, "invalid_request", "no such OAuth endpoint");
  } catch (const OAuthError& e) {
    count_rejection(endpoint, e.code);
    co_return error_reply(e);
  } catch (const Error& e) {
    // The store or the provider failed: not the caller's fault.
    log::warn("oauth {}: {}", endpoint, e.what());
    count_rejection(endpoint, "server_error");
    bool down = e.code() == Errc::unavailable || e.code() == Errc::timeout;
    co_return error_reply(OAuthError(down ? 503 : 500, down ? "temporarily_unavailable" : "server_error",
                                     down ? "a backing service is unavailable; try again" : "internal error"));
  }
}

asio::awaitable<std::string> AuthServer::check() {
  auto s = co_await store_->check();
  if (!s.empty()) co_return "OAuth store: " + s;
  auto p = co_await provider_->check();
  co_return p;
}

}  // namespace mk::auth
