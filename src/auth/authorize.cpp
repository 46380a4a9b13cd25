// /oauth/authorize (our client -> us -> the provider) and /oauth/callback (the provider -> us
// -> our client). Errors before the client and its redirect URI are known are answered here
// (never redirect to an unverified URI); after that they go back to the client's redirect URI.
#include "auth/consent.hpp"
#include "auth/oauth_error.hpp"
#include "auth/server.hpp"
#include "instrumentation/metrics.hpp"
#include "util/error.hpp"
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

// The client's redirect URI with our answer; `iss` per RFC 9207.
std::string back_to_client(const std::string& redirect_uri, std::vector<std::pair<std::string, std::string>> kv,
                           const std::string& state, const std::string& iss) {
  if (!state.empty()) kv.emplace_back("state", state);
  kv.emplace_back("iss", iss);
  auto sep = redirect_uri.find('?') == std::string::npos ? "?" : "&";
  return redirect_uri + sep + form_encode(kv);
}
}  // namespace

asio::awaitable<HttpReply> AuthServer::authorize(const HttpRequest& req) {
  auto q = parse_form(req.method == "POST" ? req.body : req.query);
  auto client_id = get(q, "client_id");
  if (client_id.empty()) bad_request("client_id is required");
  if (cfg_.cimd && looks_like_url(client_id)) {
    auto cimd_key = "cimd-ip:" + req.peer;
    auto n = co_await store_->incr(std::move(cimd_key), std::chrono::minutes(1));
    if (n > cfg_.cimd_requests_per_ip_per_minute)
      oauth_fail(429, "too_many_requests", "too many client metadata document requests from this address; try later");
  }
  auto client = co_await find_client(client_id);
  if (!client) oauth_fail(400, "invalid_client", "unknown client_id");
  auto redirect_uri = get(q, "redirect_uri");
  if (redirect_uri.empty()) {
    if (client->redirect_uris.size() != 1) bad_request("redirect_uri is required");
    redirect_uri = client->redirect_uris.front();
  }
  auto& uris = client->redirect_uris;
  if (std::find(uris.begin(), uris.end(), redirect_uri) == uris.end())
    bad_request("redirect_uri is not registered for this client (exact match required)");

  // From here on the client hears about errors at its redirect URI.
  auto state = get(q, "state");
  auto to_client = [&](std::string code, std::string desc) {
    count_rejection("authorize", code);
    return redirect_reply(
        back_to_client(redirect_uri, {{"error", code}, {"error_description", desc}}, state, cfg_.base_url));
  };
  if (get(q, "response_type") != "code") co_return to_client("unsupported_response_type", "response_type must be code");
  if (state.empty() && !cfg_.allow_insecure_without_state) co_return to_client("invalid_request", "state is required");
  if (state.size() > 512) co_return to_client("invalid_request", "state is longer than 512 bytes");
  auto challenge = get(q, "code_challenge");
  if (challenge.empty()) co_return to_client("invalid_request", "code_challenge is required (PKCE)");
  if (get(q, "code_challenge_method") != "S256")
    co_return to_client("invalid_request", "code_challenge_method must be S256");
  if (!valid_pkce_challenge(challenge))
    co_return to_client("invalid_request", "code_challenge is not an S256 challenge");
  auto resource = get(q, "resource");
  if (!resource.empty() && resource != cfg_.resource())
    co_return to_client("invalid_target", "resource must be " + cfg_.resource());
  auto scope = get(q, "scope");
  if (scope.size() > 1024) co_return to_client("invalid_scope", "scope is longer than 1024 bytes");

  auto limit_key = "authz-ip:" + req.peer;
  auto started = co_await store_->incr(std::move(limit_key), std::chrono::duration_cast<Ttl>(cfg_.flow_ttl));
  if (started > static_cast<std::int64_t>(cfg_.max_authorizations_per_ip))
    co_return to_client("temporarily_unavailable", "too many sign-ins started from this address; try again later");

  FlowRecord f{client_id, redirect_uri, state, challenge, cfg_.resource(), scope, "", ""};
  // This browser approved this very client before (a cookie only we can have made): on to the
  // provider. Otherwise the user is asked first; nothing goes upstream before the answer.
  auto cookies = parse_cookies(req.cookie);
  if (auto it = cookies.find(consent_cookie_name(cfg_, client_id));
      it != cookies.end() && consent_cookie_valid(consent_key(), client_id, it->second, unix_now())) {
    auto r = co_await start_upstream(std::move(f));
    co_return r;
  }
  // The browser-binding cookie: kept when the browser already has a well-formed one (several
  // consent pages open in tabs), else a new one.
  std::string browser;
  if (auto it = cookies.find(browser_cookie_name(cfg_)); it != cookies.end() && it->second.size() == 43)
    browser = it->second;
  else browser = random_token(32);
  auto csrf = random_token(32);
  ConsentRecord pending{f, sha256_b64url(browser)};
  auto pending_key = "consent:" + sha256_b64url(csrf);
  auto pending_doc = json::serialize(to_json(pending));
  co_await store_->put(std::move(pending_key), std::move(pending_doc), std::chrono::duration_cast<Ttl>(cfg_.flow_ttl));
  auto page = consent_page(cfg_, *client, f, csrf);
  page.headers.emplace_back("Set-Cookie", set_cookie(cfg_, browser_cookie_name(cfg_), browser, cfg_.flow_ttl.count()));
  co_return page;
}

// The answer of our consent page (POST): one-time CSRF token bound to the pending request and
// to the browser it was shown in.
asio::awaitable<HttpReply> AuthServer::consent(const HttpRequest& req) {
  if (req.content_type.find("application/x-www-form-urlencoded") == std::string::npos)
    bad_request("Content-Type must be application/x-www-form-urlencoded");
  auto form = parse_form(req.body);
  auto csrf = get(form, "csrf_token");
  auto decision = get(form, "decision");
  if (csrf.empty() || csrf.size() > 128) bad_request("csrf_token is required");
  if (decision != "approve" && decision != "deny") bad_request("decision must be approve or deny");
  // Taken, not read: a token answers once, on whichever replica.
  auto pending_key = "consent:" + sha256_b64url(csrf);
  auto v = co_await store_->take(std::move(pending_key));
  if (!v) oauth_fail(400, "invalid_request", "unknown, expired or already answered consent request; start again");
  auto pending = from_json<ConsentRecord>(*v);
  auto cookies = parse_cookies(req.cookie);
  auto b = cookies.find(browser_cookie_name(cfg_));
  if (b == cookies.end() || !constant_time_equal(sha256_b64url(b->second), pending.browser)) {
    log::warn("oauth audit: consent answer from another browser refused client={}", pending.flow.client_id);
    oauth_fail(403, "access_denied", "the consent answer did not come from the browser that was asked");
  }
  auto& f = pending.flow;
  if (decision == "deny") {
    log::info("oauth audit: consent denied client={}", f.client_id);
    count_rejection("consent", "access_denied");
    auto r = redirect_reply(
        back_to_client(f.redirect_uri, {{"error", "access_denied"}, {"error_description", "the user denied access"}},
                       f.state, cfg_.base_url));
    r.status = 303;  // after a POST: the client's redirect URI is fetched with GET
    co_return r;
  }
  log::info("oauth audit: consent given client={}", f.client_id);
  auto expires = unix_now() + cfg_.consent_ttl.count();
  auto cookie = set_cookie(cfg_, consent_cookie_name(cfg_, f.client_id),
                           consent_cookie_value(consent_key(), f.client_id, expires), cfg_.consent_ttl.count());
  auto r = co_await start_upstream(std::move(f));
  r.status = 303;
  r.headers.emplace_back("Set-Cookie", std::move(cookie));
  co_return r;
}

// The flow state (our nonce and PKCE verifier towards the provider) is made only now, after
// consent, and the browser goes to the provider.
asio::awaitable<HttpReply> AuthServer::start_upstream(FlowRecord f) {
  f.nonce = random_token(16);
  f.upstream_verifier = random_token(32);
  auto upstream_state = random_token(24);
  auto upstream_challenge = sha256_b64url(f.upstream_verifier);
  auto url = co_await provider_->authorize_url(upstream_state, f.nonce, std::move(upstream_challenge));
  auto flow_key = "flow:" + sha256_b64url(upstream_state);
  auto flow_doc = json::serialize(to_json(f));
  co_await store_->put(std::move(flow_key), std::move(flow_doc), std::chrono::duration_cast<Ttl>(cfg_.flow_ttl));
  co_return redirect_reply(url);
}

asio::awaitable<HttpReply> AuthServer::callback(const HttpRequest& req) {
  auto q = parse_form(req.query);
  auto upstream_state = get(q, "state");
  if (upstream_state.empty() || upstream_state.size() > 256) bad_request("state is missing");
  auto v = co_await store_->take("flow:" + sha256_b64url(upstream_state));
  if (!v) bad_request("unknown or expired sign-in (state); start again from the client");
  auto f = from_json<FlowRecord>(*v);
  auto to_client = [&](std::string code, std::string desc) {
    count_rejection("callback", code);
    return redirect_reply(
        back_to_client(f.redirect_uri, {{"error", code}, {"error_description", desc}}, f.state, cfg_.base_url));
  };
  if (auto err = get(q, "error"); !err.empty()) {
    // The provider's error code is the caller's text (the query): only RFC 6749's error
    // characters reach the log, so it cannot forge lines.
    std::string shown = err.substr(0, 64);
    for (auto& ch : shown)
      if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') ch = '?';
    log::info("oauth audit: sign-in refused by the identity provider ({}) client={}", shown, f.client_id);
    co_return to_client("access_denied", "the identity provider did not sign the user in");
  }
  auto code = get(q, "code");
  if (code.empty()) co_return to_client("invalid_request", "the identity provider returned no code");
  UpstreamTokens up;
  std::string failure;
  bool down = false;
  try {
    up = co_await provider_->exchange(code, f.upstream_verifier, f.nonce);
  } catch (const Error& e) {
    failure = e.what();
    down = e.code() == Errc::unavailable || e.code() == Errc::timeout;
  }
  if (!failure.empty()) {
    log::warn("oauth audit: sign-in failed at the identity provider: {} client={}", failure, f.client_id);
    if (down) co_return to_client("temporarily_unavailable", "the identity provider is unavailable");
    co_return to_client("access_denied", "the identity provider's answer did not verify");
  }
  CodeRecord c{f.client_id,
               f.redirect_uri,
               f.code_challenge,
               f.resource,
               f.scope,
               up.user,
               tokens_.seal(up.user.subject, up.id_token, up.refresh_token, up.id_expires)};
  auto our_code = co_await tokens_.new_code(c);
  log::info("oauth audit: user signed in subject={} client={}", up.user.subject, f.client_id);
  co_return redirect_reply(back_to_client(f.redirect_uri, {{"code", our_code}}, f.state, cfg_.base_url));
}

}  // namespace mk::auth
