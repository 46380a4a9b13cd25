#include "auth/crypto.hpp"
#include "auth/http_client.hpp"
#include "auth/http_types.hpp"
#include "auth/jwt.hpp"
#include "auth/provider.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

namespace mk::auth {
namespace asio = boost::asio;
namespace json = boost::json;

std::vector<std::string> ProviderConfig::scopes() const {
  if (kind == "google") return {"openid", "email", "profile"};
  std::vector<std::string> s{"openid", "profile", "email", "groups", "offline_access"};
  if (!k8s_audience.empty()) s.push_back("audience:server:client_id:" + k8s_audience);
  return s;
}

asio::awaitable<UpstreamTokens> Provider::verify_id_token(std::string, std::vector<std::string>) {
  fail(Errc::unauthorized, "this provider does not accept forwarded ID tokens");
  co_return UpstreamTokens{};
}

namespace {
constexpr std::size_t kMaxGroups = 256;  // beyond this a token is not a sane identity
constexpr std::chrono::seconds kJwksRefetchMin{10};

std::string field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

UserInfo user_from_claims(const json::object& claims) {
  UserInfo u;
  u.subject = field(claims, "sub");
  u.email = field(claims, "email");
  // Dex and Google send email_verified as a boolean, some providers as the string "true". A
  // claim that is there but says anything else is "not verified".
  if (auto* ev = claims.if_contains("email_verified"))
    u.email_verified = (ev->is_bool() && ev->as_bool()) || (ev->is_string() && ev->as_string() == "true");
  if (auto* g = claims.if_contains("groups"); g && g->is_array())
    for (auto& e : g->as_array())
      if (e.is_string() && u.groups.size() < kMaxGroups) u.groups.emplace_back(e.as_string());
  return u;
}

namespace {
json::object parse_object(const HttpAnswer& a, std::string_view what) {
  boost::system::error_code ec;
  auto v = json::parse(a.body, ec);
  if (ec || !v.is_object())
    fail(Errc::unavailable, fmt::format("{}: the provider's answer is not a JSON object", what));
  return std::move(v.as_object());
}

class OidcProvider : public Provider {
 public:
  OidcProvider(asio::any_io_executor ex, ProviderConfig cfg, std::string redirect_uri)
      : cfg_(std::move(cfg)), redirect_uri_(std::move(redirect_uri)),
        http_(std::make_unique<HttpClient>(ex, HttpClientOptions{.ca_file = cfg_.ca_file})) {}

  asio::awaitable<std::string> authorize_url(std::string state, std::string nonce, std::string challenge) override {
    co_await discover();
    std::string scope;
    for (auto& s : cfg_.scopes()) scope += (scope.empty() ? "" : " ") + s;
    std::vector<std::pair<std::string, std::string>> kv{{"response_type", "code"},
                                                        {"client_id", cfg_.client_id},
                                                        {"redirect_uri", redirect_uri_},
                                                        {"scope", scope},
                                                        {"state", state},
                                                        {"nonce", nonce},
                                                        {"code_challenge", challenge},
                                                        {"code_challenge_method", "S256"}};
    if (!cfg_.connector_id.empty()) kv.emplace_back("connector_id", cfg_.connector_id);
    if (cfg_.kind == "google") {
      kv.emplace_back("access_type", "offline");
      kv.emplace_back("prompt", "consent");
    }
    auto sep = authorization_endpoint_.find('?') == std::string::npos ? "?" : "&";
    co_return authorization_endpoint_ + sep + form_encode(kv);
  }

  asio::awaitable<UpstreamTokens> exchange(std::string code, std::string verifier, std::string nonce) override {
    auto body = form_encode({{"grant_type", "authorization_code"},
                             {"code", code},
                             {"redirect_uri", redirect_uri_},
                             {"code_verifier", verifier}});
    auto o = co_await token_request(std::move(body));
    auto t = co_await verify(o, nonce);
    co_return t;
  }

  asio::awaitable<UpstreamTokens> refresh(std::string refresh_token) override {
    auto body = form_encode({{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}});
    auto o = co_await token_request(std::move(body));
    auto t = co_await verify(o, std::string());
    co_return t;
  }

  asio::awaitable<UpstreamTokens> verify_id_token(std::string token, std::vector<std::string> audiences) override {
    co_await discover();
    auto kid = jwt_kid(token);
    auto keys = co_await keys_for(kid);
    JwtCheck check{.issuer = cfg_.issuer, .audiences = std::move(audiences)};
    auto claims = verify_jwt(token, *keys, check, std::chrono::system_clock::now());
    UpstreamTokens t;
    t.user = user_from_claims(claims);
    if (auto* e = claims.if_contains("exp"); e && e->is_int64()) t.id_expires = e->as_int64();
    if (t.user.subject.empty()) fail(Errc::unauthorized, "ID token has no subject");
    t.id_token = std::move(token);
    co_return t;
  }

  asio::awaitable<std::string> check() override {
    try {
      co_await discover();
      co_return std::string();
    } catch (const std::exception& e) {
      co_return fmt::format("identity provider: {}", e.what());
    }
  }

 private:
  asio::awaitable<void> discover() {
    if (!token_endpoint_.empty()) co_return;
    auto url = cfg_.issuer + "/.well-known/openid-configuration";
    auto a = co_await http_->get(url, {});
    if (a.status != 200) fail(Errc::unavailable, fmt::format("OIDC discovery at {}: HTTP {}", url, a.status));
    auto o = parse_object(a, "OIDC discovery");
    if (field(o, "issuer") != cfg_.issuer)
      fail(Errc::unavailable,
           fmt::format("OIDC discovery: issuer \"{}\" is not \"{}\"", field(o, "issuer"), cfg_.issuer));
    auto authz = field(o, "authorization_endpoint"), token = field(o, "token_endpoint"), jwks = field(o, "jwks_uri");
    if (authz.empty() || token.empty() || jwks.empty())
      fail(Errc::unavailable, "OIDC discovery: authorization_endpoint, token_endpoint or jwks_uri missing");
    authorization_endpoint_ = authz;
    jwks_uri_ = jwks;
    token_endpoint_ = token;
  }

  asio::awaitable<json::object> token_request(std::string body) {
    co_await discover();
    // client_secret_basic: both parts form-encoded first (RFC 6749 §2.3.1).
    auto basic = base64_encode_std(url_encode(cfg_.client_id) + ":" + url_encode(cfg_.client_secret.get()));
    Headers h{{"Authorization", "Basic " + basic}};
    auto a = co_await http_->post(token_endpoint_, std::move(h), std::move(body), "application/x-www-form-urlencoded");
    if (a.status >= 500) fail(Errc::unavailable, fmt::format("identity provider token endpoint: HTTP {}", a.status));
    auto o = parse_object(a, "token endpoint");
    if (a.status != 200) {
      // The provider's error code only (its description may echo input).
      fail(Errc::unauthorized, fmt::format("identity provider refused: {}", field(o, "error").substr(0, 64)));
    }
    co_return o;
  }

  asio::awaitable<std::shared_ptr<Jwks>> keys_for(const std::string& kid) {
    auto now = std::chrono::steady_clock::now();
    bool stale = !jwks_ || (!kid.empty() && !jwks_->has_kid(kid));
    if (stale && (!jwks_ || now - jwks_fetched_ >= kJwksRefetchMin)) {
      jwks_fetched_ = now;
      auto a = co_await http_->get(jwks_uri_, {});
      if (a.status != 200) fail(Errc::unavailable, fmt::format("JWKS at {}: HTTP {}", jwks_uri_, a.status));
      jwks_ = std::make_shared<Jwks>(Jwks::parse(a.body));
    }
    co_return jwks_;
  }

  asio::awaitable<UpstreamTokens> verify(const json::object& o, std::string nonce) {
    UpstreamTokens t;
    t.id_token = field(o, "id_token");
    t.refresh_token = field(o, "refresh_token");
    if (t.id_token.empty()) fail(Errc::unauthorized, "identity provider returned no ID token");
    auto kid = jwt_kid(t.id_token);
    auto keys = co_await keys_for(kid);
    JwtCheck check{.issuer = cfg_.issuer, .audiences = {cfg_.client_id}, .nonce = nonce};
    // With the cross-client scope Dex names the API server's client as audience (ours is azp).
    if (!cfg_.k8s_audience.empty()) check.audiences.push_back(cfg_.k8s_audience);
    auto claims = verify_jwt(t.id_token, *keys, check, std::chrono::system_clock::now());
    if (auto* azp = claims.if_contains("azp"); azp && azp->is_string() && azp->as_string() != cfg_.client_id)
      fail(Errc::unauthorized, "ID token was issued to another client (azp)");
    t.user = user_from_claims(claims);
    if (auto* e = claims.if_contains("exp"); e && e->is_int64()) t.id_expires = e->as_int64();
    if (t.user.subject.empty()) fail(Errc::unauthorized, "ID token has no subject");
    co_return t;
  }

  static std::string base64_encode_std(std::string_view in) {
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
      out += tbl[v >> 18 & 63], out += tbl[v >> 12 & 63], out += tbl[v >> 6 & 63], out += tbl[v & 63];
    }
    if (i + 1 == in.size()) {
      unsigned v = (unsigned char)in[i] << 16;
      out += tbl[v >> 18 & 63], out += tbl[v >> 12 & 63], out += "==";
    } else if (i + 2 == in.size()) {
      unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
      out += tbl[v >> 18 & 63], out += tbl[v >> 12 & 63], out += tbl[v >> 6 & 63], out += '=';
    }
    return out;
  }

  ProviderConfig cfg_;
  std::string redirect_uri_;
  std::unique_ptr<HttpClient> http_;
  std::string authorization_endpoint_, token_endpoint_, jwks_uri_;
  std::shared_ptr<Jwks> jwks_;
  std::chrono::steady_clock::time_point jwks_fetched_{};
};
}  // namespace

std::shared_ptr<Provider> make_oidc_provider(asio::any_io_executor ex, ProviderConfig cfg, std::string redirect_uri) {
  return std::make_shared<OidcProvider>(std::move(ex), std::move(cfg), std::move(redirect_uri));
}

}  // namespace mk::auth
