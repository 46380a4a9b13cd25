#include "auth/tokens.hpp"

#include "auth/oauth_error.hpp"
#include "instrumentation/metrics.hpp"
#include "util/log.hpp"

#include <boost/json/serialize.hpp>

namespace mk::auth {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
Ttl ms(std::chrono::seconds s) { return std::chrono::duration_cast<Ttl>(s); }
std::string ser(const json::object& o) { return json::serialize(o); }
void count(const char* name) { metrics::Registry::global().inc(name, {}); }
bool unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}
}  // namespace

bool valid_pkce_verifier(std::string_view v) {
  if (v.size() < 43 || v.size() > 128) return false;
  for (char c : v)
    if (!unreserved(c)) return false;
  return true;
}

bool valid_pkce_challenge(std::string_view c) {
  if (c.size() != 43) return false;
  for (char ch : c)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') return false;
  return true;
}

bool pkce_matches(std::string_view verifier, std::string_view challenge) {
  return valid_pkce_verifier(verifier) && constant_time_equal(sha256_b64url(verifier), challenge);
}

UpstreamSealed Tokens::seal(const std::string& subject, const std::string& id_token, const std::string& refresh_token,
                            std::int64_t id_expires) const {
  UpstreamSealed u;
  u.id_token = sealer_.seal(id_token, "upstream-id:" + subject);
  if (!refresh_token.empty()) u.refresh_token = sealer_.seal(refresh_token, "upstream-refresh:" + subject);
  u.id_expires = id_expires;
  return u;
}

std::string Tokens::open_id_token(const Grant& g) const {
  if (g.upstream.id_token.empty()) return {};
  return sealer_.open(g.upstream.id_token, "upstream-id:" + g.user.subject).value_or("");
}

std::string Tokens::open_refresh_token(const Grant& g) const {
  if (g.upstream.refresh_token.empty()) return {};
  return sealer_.open(g.upstream.refresh_token, "upstream-refresh:" + g.user.subject).value_or("");
}

asio::awaitable<std::string> Tokens::new_code(const CodeRecord& rec) {
  auto code = random_token(32);
  co_await store_.put("code:" + sha256_b64url(code), ser(to_json(rec)), ms(cfg_.code_ttl));
  co_return code;
}

asio::awaitable<void> Tokens::save_grant(const Grant& g) {
  co_await store_.put("grant:" + g.family, ser(to_json(g)), ms(cfg_.refresh_ttl));
}

asio::awaitable<bool> Tokens::update_grant(const Grant& g) {
  auto key = "grant:" + g.family;
  auto doc = ser(to_json(g));
  auto written = co_await store_.put_if_present(std::move(key), std::move(doc), ms(cfg_.refresh_ttl));
  co_return written;
}

asio::awaitable<std::optional<Grant>> Tokens::grant(std::string family) {
  auto v = co_await store_.get("grant:" + family);
  if (!v) co_return std::nullopt;
  co_return from_json<Grant>(*v);
}

asio::awaitable<Issued> Tokens::issue(const Grant& g) {
  Issued out;
  out.access_token = random_token(32);
  out.refresh_token = random_token(32);
  out.expires_in = cfg_.access_ttl.count();
  out.scope = g.scope;
  out.family = g.family;
  AccessRecord a{g.family, g.client_id, unix_now() + cfg_.access_ttl.count()};
  co_await store_.put("at:" + sha256_b64url(out.access_token), ser(to_json(a)), ms(cfg_.access_ttl));
  RefreshRecord r{g.family, g.client_id};
  co_await store_.put("rt:" + sha256_b64url(out.refresh_token), ser(to_json(r)), ms(cfg_.refresh_ttl));
  co_return out;
}

asio::awaitable<void> Tokens::revoke_family(const std::string& family) {
  // Access and refresh records of the family stay until they expire, but each use looks its
  // grant up first: without it they are dead.
  co_await store_.erase("grant:" + family);
}

asio::awaitable<Issued> Tokens::redeem_code(std::string code, std::string client_id, std::string redirect_uri,
                                            std::string verifier, std::string resource) {
  if (code.empty()) bad_request("code is required");
  if (verifier.empty()) bad_request("code_verifier is required (PKCE)");
  auto key = sha256_b64url(code);
  auto v = co_await store_.take("code:" + key);
  if (!v) {
    // A code redeemed before: whoever holds it now is not the client it was issued to (or the
    // client is broken). RFC 6749 §4.1.2: revoke what was issued from it.
    auto used = co_await store_.get("code-used:" + key);
    if (used) {
      co_await revoke_family(*used);
      count("oauth_code_reuse_detected_total");
      log::warn("oauth audit: authorization code replayed; its grant is revoked (client {})", client_id);
    }
    oauth_fail(400, "invalid_grant", "authorization code is invalid, expired or already used");
  }
  auto rec = from_json<CodeRecord>(*v);
  // The code is consumed whatever follows: a wrong verifier must not allow another guess.
  if (rec.client_id != client_id) oauth_fail(400, "invalid_grant", "authorization code was issued to another client");
  if (rec.redirect_uri != redirect_uri)
    oauth_fail(400, "invalid_grant", "redirect_uri does not match the authorization request");
  if (!pkce_matches(verifier, rec.code_challenge)) {
    count("oauth_pkce_validation_failed_total");
    oauth_fail(400, "invalid_grant", "code_verifier does not match the code_challenge");
  }
  if (!resource.empty() && resource != rec.resource)
    oauth_fail(400, "invalid_target", "resource does not match the authorization request");
  Grant g{random_token(16), rec.client_id, rec.resource, rec.scope, rec.user, rec.upstream, unix_now()};
  co_await save_grant(g);
  co_await store_.put("code-used:" + key, g.family, ms(cfg_.code_ttl));
  auto issued = co_await issue(g);
  co_return issued;
}

asio::awaitable<Issued> Tokens::refresh(std::string refresh_token, std::string client_id, std::string resource) {
  if (refresh_token.empty()) bad_request("refresh_token is required");
  auto key = sha256_b64url(refresh_token);
  auto v = co_await store_.take("rt:" + key);
  if (!v) {
    auto used = co_await store_.get("rt-used:" + key);
    if (used) {
      co_await revoke_family(*used);
      count("oauth_token_reuse_detected_total");
      log::warn("oauth audit: refresh token replayed; its token family is revoked (client {})", client_id);
    }
    oauth_fail(400, "invalid_grant", "refresh token is invalid, expired, revoked or already used");
  }
  auto rec = from_json<RefreshRecord>(*v);
  co_await store_.put("rt-used:" + key, rec.family, ms(cfg_.refresh_ttl));
  if (rec.client_id != client_id) {
    // Another client presenting it: it leaked. Treat like a replay.
    co_await revoke_family(rec.family);
    oauth_fail(400, "invalid_grant", "refresh token was issued to another client");
  }
  auto g = co_await grant(rec.family);
  if (!g) oauth_fail(400, "invalid_grant", "refresh token is invalid, expired, revoked or already used");
  if (!resource.empty() && resource != g->resource)
    oauth_fail(400, "invalid_target", "resource does not match the grant");
  auto issued = co_await issue(*g);
  co_return issued;
}

asio::awaitable<void> Tokens::revoke(std::string token, std::string client_id) {
  auto key = sha256_b64url(token);
  if (auto a = co_await store_.get("at:" + key)) {
    if (from_json<AccessRecord>(*a).client_id == client_id) co_await store_.erase("at:" + key);
    co_return;
  }
  if (auto r = co_await store_.get("rt:" + key)) {
    auto rec = from_json<RefreshRecord>(*r);
    if (rec.client_id == client_id) {
      co_await store_.erase("rt:" + key);
      co_await revoke_family(rec.family);
    }
  }
}

asio::awaitable<std::optional<Authenticated>> Tokens::check_access(std::string token) {
  if (token.empty() || token.size() > 512) co_return std::nullopt;
  auto a = co_await store_.get("at:" + sha256_b64url(token));
  if (!a) co_return std::nullopt;
  auto rec = from_json<AccessRecord>(*a);
  if (rec.expires <= unix_now()) co_return std::nullopt;
  auto g = co_await grant(rec.family);
  if (!g) co_return std::nullopt;
  co_return Authenticated{std::move(*g), rec.expires};
}

asio::awaitable<std::optional<Grant>> Tokens::check_refresh(std::string token) {
  if (token.empty() || token.size() > 512) co_return std::nullopt;
  auto r = co_await store_.get("rt:" + sha256_b64url(token));
  if (!r) co_return std::nullopt;
  auto g = co_await grant(from_json<RefreshRecord>(*r).family);
  co_return g;
}

}  // namespace mk::auth
