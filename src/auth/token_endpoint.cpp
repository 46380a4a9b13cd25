// /oauth/token (RFC 6749 §4.1.3, §6), /oauth/revoke (RFC 7009), /oauth/introspect (RFC 7662).
#include "auth/oauth_error.hpp"
#include "auth/server.hpp"
#include "instrumentation/metrics.hpp"
#include "util/log.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace mk::auth {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
std::string get(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

void require_form(const HttpRequest& req) {
  if (req.content_type.find("application/x-www-form-urlencoded") == std::string::npos)
    bad_request("Content-Type must be application/x-www-form-urlencoded");
}

// "Basic base64(urlenc(id):urlenc(secret))" -> (id, secret); nullopt when absent.
std::optional<std::pair<std::string, std::string>> basic_credentials(const std::string& h) {
  if (h.size() < 6) return std::nullopt;
  std::string scheme = h.substr(0, 6);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  if (scheme != "basic ") return std::nullopt;
  // Standard base64 -> base64url for the shared decoder.
  std::string b = h.substr(6);
  std::replace(b.begin(), b.end(), '+', '-');
  std::replace(b.begin(), b.end(), '/', '_');
  auto raw = base64url_decode(b);
  if (!raw) oauth_fail(401, "invalid_client", "malformed Basic credentials");
  auto colon = raw->find(':');
  if (colon == std::string::npos) oauth_fail(401, "invalid_client", "malformed Basic credentials");
  auto id = parse_form("x=" + raw->substr(0, colon)), secret = parse_form("x=" + raw->substr(colon + 1));
  return std::pair{get(id, "x"), get(secret, "x")};
}

json::object token_answer(const Issued& t) {
  json::object o{{"access_token", t.access_token},
                 {"token_type", "Bearer"},
                 {"expires_in", t.expires_in},
                 {"refresh_token", t.refresh_token}};
  if (!t.scope.empty()) o["scope"] = t.scope;
  return o;
}
}  // namespace

asio::awaitable<ClientRecord> AuthServer::authenticate_client(const HttpRequest& req,
                                                              const std::map<std::string, std::string>& form,
                                                              bool require_secret) {
  auto basic = basic_credentials(req.authorization);
  std::string id = basic ? basic->first : get(form, "client_id");
  std::string secret = basic ? basic->second : get(form, "client_secret");
  if (basic && form.contains("client_secret")) bad_request("use one client authentication method");
  if (id.empty()) oauth_fail(401, "invalid_client", "client authentication is required (client_id)");
  if (!get(form, "client_id").empty() && get(form, "client_id") != id)
    oauth_fail(401, "invalid_client", "client_id does not match the authenticated client");
  if (cfg_.cimd && looks_like_url(id)) {
    // A metadata-document client is public: it never authenticates with a secret, so a URL here
    // is refused before anything is fetched; elsewhere fetches count against the same per-address
    // budget as /oauth/authorize (each new URL is a fetch to a place the caller chose).
    if (require_secret) oauth_fail(401, "invalid_client", "this endpoint requires a confidential client");
    auto cimd_key = "cimd-ip:" + req.peer;
    auto n = co_await store_->incr(std::move(cimd_key), std::chrono::minutes(1));
    if (n > cfg_.cimd_requests_per_ip_per_minute)
      oauth_fail(429, "too_many_requests", "too many client metadata document requests from this address; try later");
  }
  auto c = co_await find_client(id);
  if (!c) oauth_fail(401, "invalid_client", "unknown client");
  if (c->is_public()) {
    if (require_secret) oauth_fail(401, "invalid_client", "this endpoint requires a confidential client");
    if (!secret.empty()) oauth_fail(401, "invalid_client", "a public client has no secret");
  } else if (secret.empty() || !constant_time_equal(sha256_b64url(secret), c->secret_hash)) {
    oauth_fail(401, "invalid_client", "client authentication failed");
  }
  co_return *c;
}

namespace {
HttpReply too_many(std::string description) {
  count_rejection("token", "rate_limited");
  auto r = error_reply(OAuthError(429, "too_many_requests", std::move(description)));
  r.headers.emplace_back("Retry-After", "60");
  return r;
}
}  // namespace

asio::awaitable<HttpReply> AuthServer::token(const HttpRequest& req) {
  require_form(req);
  // Per address first (a stranger guessing codes or tokens), then per user below.
  auto ip_key = "tok-ip:" + req.peer;
  auto from_ip = co_await store_->incr(std::move(ip_key), std::chrono::minutes(1));
  if (from_ip > cfg_.token_requests_per_ip_per_minute)
    co_return too_many("too many token requests from this address; try again in a minute");
  auto form = parse_form(req.body);
  auto grant_type = get(form, "grant_type");
  if (grant_type.empty()) bad_request("grant_type is required");
  if (grant_type != "authorization_code" && grant_type != "refresh_token")
    oauth_fail(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
  auto client = co_await authenticate_client(req, form, false);
  // The user behind the code or refresh token, looked up without consuming it: a request over
  // the limit leaves the client's code or refresh token usable a minute later.
  std::string subject;
  if (grant_type == "authorization_code") {
    if (auto code = get(form, "code"); !code.empty() && code.size() <= 512) {
      auto code_key = "code:" + sha256_b64url(code);
      if (auto v = co_await store_->get(std::move(code_key))) subject = from_json<CodeRecord>(*v).user.subject;
    }
  } else {
    auto presented = get(form, "refresh_token");
    if (auto g = co_await tokens_.check_refresh(std::move(presented))) subject = g->user.subject;
  }
  if (!subject.empty()) {
    auto user_key = "tok-user:" + sha256_b64url(subject);
    auto n = co_await store_->incr(std::move(user_key), std::chrono::minutes(1));
    if (n > cfg_.token_requests_per_user_per_minute) {
      log::warn("oauth audit: token requests over the per-user limit subject={} client={}", subject, client.client_id);
      co_return too_many("too many token requests for this user; try again in a minute");
    }
  }
  Issued t;
  if (grant_type == "authorization_code") {
    t = co_await tokens_.redeem_code(get(form, "code"), client.client_id, get(form, "redirect_uri"),
                                     get(form, "code_verifier"), get(form, "resource"));
  } else {
    t = co_await tokens_.refresh(get(form, "refresh_token"), client.client_id, get(form, "resource"));
  }
  std::string kind = grant_type == "authorization_code" ? "authorization_code" : "refresh_token";
  metrics::Registry::global().inc("oauth_token_issued_total", {{"grant_type", kind}});
  auto g = co_await tokens_.grant(t.family);
  log::info("oauth audit: tokens issued grant_type={} subject={} client={}", kind, g ? g->user.subject : "?",
            client.client_id);
  co_return json_reply(200, token_answer(t));
}

asio::awaitable<HttpReply> AuthServer::revoke(const HttpRequest& req) {
  require_form(req);
  auto form = parse_form(req.body);
  auto client = co_await authenticate_client(req, form, false);
  auto token = get(form, "token");
  if (token.empty()) bad_request("token is required");
  co_await tokens_.revoke(token, client.client_id);
  log::info("oauth audit: token revocation client={}", client.client_id);
  HttpReply r;
  r.status = 200;
  r.body = "";
  r.headers = {{"Cache-Control", "no-store"}};
  co_return r;
}

asio::awaitable<HttpReply> AuthServer::introspect(const HttpRequest& req) {
  require_form(req);
  auto form = parse_form(req.body);
  co_await authenticate_client(req, form, true);
  auto token = get(form, "token");
  if (token.empty()) bad_request("token is required");
  json::object o{{"active", false}};
  auto hint = get(form, "token_type_hint");
  std::optional<Grant> g;
  std::int64_t exp = 0;
  std::string type;
  if (hint != "refresh_token") {
    if (auto a = co_await tokens_.check_access(token)) {
      g = std::move(a->grant);
      exp = a->expires;
      type = "access_token";
    }
  }
  if (!g) {
    if (auto r = co_await tokens_.check_refresh(token)) {
      g = std::move(*r);
      type = "refresh_token";
    }
  }
  if (g) {
    o = {{"active", true},         {"client_id", g->client_id},
         {"sub", g->user.subject}, {"aud", g->resource},
         {"iss", cfg_.base_url},   {"token_type", type == "access_token" ? "Bearer" : "refresh_token"}};
    if (!g->user.email.empty()) o["username"] = g->user.email;
    if (!g->scope.empty()) o["scope"] = g->scope;
    if (exp) o["exp"] = exp;
  }
  co_return json_reply(200, o);
}

}  // namespace mk::auth
