#pragma once
// Verification of the ID tokens an upstream OpenID provider (Dex, Google) signs: JWS compact
// form against the provider's JWKS, then the claims OIDC requires. Only asymmetric algorithms
// (RS256/384/512, PS256/384/512, ES256/384); "none" and HMAC are refused, and the key must
// match the header's `kid` (and `alg`/`kty`), so a token cannot pick its own verification.
#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mk::auth {

class Jwks {
 public:
  // A JWKS document ({"keys":[...]}). Keys of unknown type or use "enc" are skipped; throws
  // Errc::invalid_argument when no usable key remains or the document is malformed/oversized.
  static Jwks parse(std::string_view json);
  std::size_t size() const;
  bool has_kid(std::string_view kid) const;  // a miss is the cue to re-fetch (key rotation)

  struct Key;

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
  friend boost::json::object verify_jwt(std::string_view, const Jwks&, const struct JwtCheck&,
                                        std::chrono::system_clock::time_point);
};

struct JwtCheck {
  std::string issuer;                  // `iss` must equal it
  std::vector<std::string> audiences;  // `aud` (string or array) must contain one of them
  std::string nonce;                   // when set, `nonce` must equal it
  std::chrono::seconds leeway{60};     // clock skew allowed on exp / nbf / iat
};

// The token's header `kid` without verifying anything ("" when absent or unreadable).
std::string jwt_kid(std::string_view token);

// Verifies signature then claims (`exp` required; `nbf`, `iat` honoured) and returns the
// claims. Throws Errc::unauthorized with a short reason that names no secret
// ("ID token expired", "ID token signature invalid", "ID token audience mismatch", ...).
// Tokens over 16 KiB are refused before parsing.
boost::json::object verify_jwt(std::string_view token, const Jwks& keys, const JwtCheck& check,
                               std::chrono::system_clock::time_point now);

}  // namespace mk::auth
