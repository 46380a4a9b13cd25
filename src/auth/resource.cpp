// The protected-resource side (RFC 6750, RFC 9728 §5.1): the MCP endpoint's bearer check.
#include "auth/oauth_error.hpp"
#include "auth/server.hpp"
#include "instrumentation/metrics.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace mk::auth {
namespace asio = boost::asio;
namespace json = boost::json;

std::string AuthServer::challenge(std::string_view error, std::string_view description) const {
  auto h = fmt::format("Bearer resource_metadata=\"{}\"", resource_metadata_url());
  if (!error.empty()) h += fmt::format(", error=\"{}\", error_description=\"{}\"", error, description);
  return h;
}

asio::awaitable<AuthServer::Result> AuthServer::authenticate(std::string authorization) {
  auto refuse = [&](std::string_view reason, std::string_view error, std::string_view description) {
    count_rejection("mcp", reason);
    Result r;
    json::object body{{"error", error.empty() ? "invalid_token" : std::string(error)},
                      {"error_description", std::string(description)}};
    r.challenge = json_reply(401, body);
    r.challenge.headers.emplace_back("WWW-Authenticate", challenge(error, description));
    return r;
  };
  std::string scheme = authorization.substr(0, 7);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  if (authorization.empty() || scheme != "bearer ")
    co_return refuse("missing", "", "a Bearer access token is required");
  auto token = authorization.substr(7);
  std::optional<Identity> who;
  // SSO token forwarding: a JWT (ours are opaque, without dots) from the provider for a trusted
  // audience. Only when configured; otherwise a JWT is just an unknown token.
  if (!cfg_.trusted_audiences.empty() && std::count(token.begin(), token.end(), '.') == 2) {
    auto& reg = metrics::Registry::global();
    UpstreamTokens up;
    std::string failure;
    try {
      up = co_await provider_->verify_id_token(token, cfg_.trusted_audiences);
    } catch (const Error& e) {
      failure = e.code() == Errc::unauthorized ? e.what() : "the identity provider's keys are unavailable";
    }
    if (!failure.empty()) {
      reg.inc("oauth_forwarded_id_tokens_total", {{"result", "refused"}});
      co_return refuse("forwarded", "invalid_token", "the ID token was not accepted: " + failure);
    }
    reg.inc("oauth_forwarded_id_tokens_total", {{"result", "accepted"}});
    who = Identity{up.user.subject, up.user.email, up.user.groups, {}, up.user.email_verified};
    // Downstream OAuth: the forwarded ID token itself goes to the API server (its audience is
    // one the API server trusts, or the call is refused there).
    if (cfg_.downstream) who->upstream_token = std::move(token);
  } else {
    auto a = co_await tokens_.check_access(token);
    if (!a) co_return refuse("invalid", "invalid_token", "the access token is invalid, expired or revoked");
    // Audience (RFC 8707): a token minted for another resource is not ours to accept.
    if (a->grant.resource != cfg_.resource())
      co_return refuse("audience", "invalid_token", "the access token is not for this resource");
    auto g = std::move(a->grant);
    if (cfg_.downstream) {
      auto fresh = co_await fresh_upstream(std::move(g));
      if (!fresh)
        co_return refuse("upstream", "invalid_token", "the sign-in at the identity provider has ended; sign in again");
      g = std::move(*fresh);
    }
    who = Identity{g.user.subject, g.user.email, g.user.groups, {}, g.user.email_verified};
    if (cfg_.downstream) who->upstream_token = tokens_.open_id_token(g);
  }
  // Per user, not per token: many sign-ins of one user share the budget.
  if (!user_limit_.allow(who->subject, std::chrono::steady_clock::now())) {
    count_rejection("mcp", "rate_limited");
    Result r;
    json::object body{{"error", "too_many_requests"},
                      {"error_description", "too many requests for this user; slow down"}};
    r.challenge = json_reply(429, body);
    r.challenge.headers.emplace_back("Retry-After", std::to_string(user_limit_.retry_after()));
    co_return r;
  }
  Result r;
  r.identity = std::move(who);
  co_return r;
}

// The grant with an upstream ID token valid for at least the margin, renewing it through the
// provider once per family at a time (concurrent requests wait for that renewal). nullopt when
// the provider refused the renewal: the family is revoked, the user must sign in again.
asio::awaitable<std::optional<Grant>> AuthServer::fresh_upstream(Grant g) {
  auto now = unix_now();
  if (g.upstream.id_expires - now > cfg_.upstream_refresh_margin.count()) co_return g;
  asio::steady_timer wait(ex_);
  for (int i = 0; i < 200 && refreshing_.contains(g.family); ++i) {  // at most 10 s (the provider's timeout)
    wait.expires_after(std::chrono::milliseconds(50));
    co_await wait.async_wait(asio::use_awaitable);
  }
  if (auto again = co_await tokens_.grant(g.family)) g = std::move(*again);
  else co_return std::nullopt;
  now = unix_now();
  if (g.upstream.id_expires - now > cfg_.upstream_refresh_margin.count()) co_return g;
  auto refresh_token = tokens_.open_refresh_token(g);
  if (refresh_token.empty()) {
    if (g.upstream.id_expires > now) co_return g;  // no way to renew: use it while it lasts
    co_return std::nullopt;
  }
  std::string failure;
  bool refused = false;
  UpstreamTokens up;
  {
    // Marked as in flight until this scope ends, however it ends (an exception of another
    // type, the coroutine destroyed): a stale mark would make every later request wait.
    refreshing_.insert(g.family);
    struct Unmark {
      std::set<std::string>& set;
      std::string family;
      ~Unmark() { set.erase(family); }
    } unmark{refreshing_, g.family};
    try {
      up = co_await provider_->refresh(refresh_token);
    } catch (const Error& e) {
      failure = e.what();
      refused = e.code() == Errc::unauthorized;
    }
  }
  auto& reg = metrics::Registry::global();
  if (!failure.empty()) {
    reg.inc("oauth_upstream_refresh_total", {{"result", refused ? "refused" : "unavailable"}});
    log::warn("oauth audit: upstream token renewal failed subject={} client={}: {}", g.user.subject, g.client_id,
              failure);
    if (refused) {
      co_await store_->erase("grant:" + g.family);
      co_return std::nullopt;
    }
    if (g.upstream.id_expires > now) co_return g;
    co_return std::nullopt;
  }
  if (up.user.subject != g.user.subject) {
    log::warn("oauth audit: upstream renewal returned another subject; grant revoked client={}", g.client_id);
    co_await store_->erase("grant:" + g.family);
    co_return std::nullopt;
  }
  // Provider kept the refresh token (no rotation): keep ours.
  auto new_refresh = up.refresh_token.empty() ? refresh_token : up.refresh_token;
  g.user = up.user;
  g.upstream = tokens_.seal(g.user.subject, up.id_token, new_refresh, up.id_expires);
  // The family may have been revoked (revocation, refresh-token reuse) while the provider
  // answered: then it stays revoked.
  if (!co_await tokens_.update_grant(g)) {
    log::info("oauth audit: grant revoked during upstream renewal; not restored client={}", g.client_id);
    co_return std::nullopt;
  }
  reg.inc("oauth_upstream_refresh_total", {{"result", "success"}});
  log::info("oauth audit: upstream token renewed subject={} client={}", g.user.subject, g.client_id);
  co_return g;
}

}  // namespace mk::auth
