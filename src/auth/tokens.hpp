#pragma once
// Our tokens and the rules around them, on the Store (records.hpp has the key layout):
// access and refresh tokens are opaque random strings, kept only as hashes; one sign-in is a
// Grant ("family") that every token issued from it points to. Erasing the grant revokes the
// whole family at once: refresh rotation with reuse detection, code replay and revocation of
// a refresh token all do that. Each consuming step (code, refresh token) is one Store::take,
// so of two racing redemptions (on any replica) only one wins.
#include "auth/config.hpp"
#include "auth/crypto.hpp"
#include "auth/records.hpp"
#include "auth/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace mk::auth {

struct Issued {
  std::string access_token, refresh_token;
  std::int64_t expires_in = 0;
  std::string scope;
  std::string family;
};

// What a valid access token stands for.
struct Authenticated {
  Grant grant;
  std::int64_t expires = 0;
};

struct TokenEvent {  // what happened, for metrics and audit (no token values)
  enum class Kind { issued, refreshed, reuse_detected, revoked } kind;
};

class Tokens {
 public:
  Tokens(Store& store, const Sealer& sealer, const AuthConfig& cfg) : store_(store), sealer_(sealer), cfg_(cfg) {}

  // authorization_code: the code's record must exist (taken once), be for this client and
  // redirect URI, and the verifier must match its S256 challenge; `resource`, when given,
  // must be the one authorized. A replayed code revokes the tokens issued from it.
  // Throws OAuthError invalid_grant / invalid_request.
  boost::asio::awaitable<Issued> redeem_code(std::string code, std::string client_id, std::string redirect_uri,
                                             std::string verifier, std::string resource);
  // refresh_token with rotation: the presented token is consumed and a new pair issued in the
  // same family. A token that was already rotated away is a replay: the family is revoked.
  boost::asio::awaitable<Issued> refresh(std::string refresh_token, std::string client_id, std::string resource);
  // RFC 7009: an access token is dropped; a refresh token revokes its family. Tokens of other
  // clients and unknown tokens are ignored (the endpoint answers 200 either way).
  boost::asio::awaitable<void> revoke(std::string token, std::string client_id);
  // The grant behind a live access token (nullopt: unknown, expired or revoked).
  boost::asio::awaitable<std::optional<Authenticated>> check_access(std::string token);
  // RFC 7662 helper: a refresh token's grant (nullopt when not active).
  boost::asio::awaitable<std::optional<Grant>> check_refresh(std::string token);
  boost::asio::awaitable<void> save_grant(const Grant& g);
  // Rewrites an existing grant; false when the family was revoked meanwhile (not recreated).
  boost::asio::awaitable<bool> update_grant(const Grant& g);
  boost::asio::awaitable<std::optional<Grant>> grant(std::string family);

  // Stores a code for the callback (code_ttl) and returns it.
  boost::asio::awaitable<std::string> new_code(const CodeRecord& rec);

  // Sealing of the upstream tokens, bound to the user (aad).
  UpstreamSealed seal(const std::string& subject, const std::string& id_token, const std::string& refresh_token,
                      std::int64_t id_expires) const;
  std::string open_id_token(const Grant& g) const;       // "" when it does not open
  std::string open_refresh_token(const Grant& g) const;  // "" when none

 private:
  boost::asio::awaitable<Issued> issue(const Grant& g);
  boost::asio::awaitable<void> revoke_family(const std::string& family);
  Store& store_;
  const Sealer& sealer_;
  const AuthConfig& cfg_;
};

// PKCE (RFC 7636): a verifier is 43-128 unreserved characters; S256 only.
bool valid_pkce_verifier(std::string_view v);
bool valid_pkce_challenge(std::string_view c);  // base64url of 32 bytes: 43 characters
bool pkce_matches(std::string_view verifier, std::string_view challenge);

}  // namespace mk::auth
