#pragma once
// The upstream identity provider (Dex, Google) this server signs users in with, as an OpenID
// Connect client: the authorization URL, the code exchange and the refresh, each answer's ID
// token verified (signature against the JWKS, iss, aud, exp, nonce). An interface so the
// authorization server's logic is unit-tested with a fake provider.
#include "auth/config.hpp"
#include "auth/records.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mk::auth {

class HttpClient;
class Jwks;

struct UpstreamTokens {
  std::string id_token;
  std::string refresh_token;    // "" when the provider gave none (or kept the old one)
  std::int64_t id_expires = 0;  // the ID token's exp, unix seconds
  UserInfo user;                // from the verified ID token
};

// The user a verified ID token names: sub, email, groups (bounded), email_verified (true for
// true or "true", false for any other value, nullopt when the claim is absent).
UserInfo user_from_claims(const boost::json::object& claims);

class Provider {
 public:
  virtual ~Provider() = default;
  // Where to send the browser: our own state, nonce and PKCE challenge (S256).
  virtual boost::asio::awaitable<std::string> authorize_url(std::string state, std::string nonce,
                                                            std::string code_challenge) = 0;
  // Errc::unauthorized when the provider refuses the code or the ID token does not verify;
  // Errc::unavailable / timeout when it cannot be reached.
  virtual boost::asio::awaitable<UpstreamTokens> exchange(std::string code, std::string verifier,
                                                          std::string nonce) = 0;
  virtual boost::asio::awaitable<UpstreamTokens> refresh(std::string refresh_token) = 0;
  // SSO token forwarding (--oauth-trusted-audiences): an ID token this provider issued to one
  // of `audiences`, verified (JWKS signature, iss, aud, exp). id_token is the token itself.
  // Errc::unauthorized when it does not verify.
  virtual boost::asio::awaitable<UpstreamTokens> verify_id_token(std::string token, std::vector<std::string> audiences);
  // For /readyz: "" when the discovery document could be read.
  virtual boost::asio::awaitable<std::string> check() = 0;
};

// The OIDC implementation: discovery cached after the first success; the JWKS cached and
// fetched again when a token names an unknown key id (at most every 10 s: key rotation, not
// a lever for strangers to make us hammer the provider).
std::shared_ptr<Provider> make_oidc_provider(boost::asio::any_io_executor ex, ProviderConfig cfg,
                                             std::string redirect_uri);

}  // namespace mk::auth
