#include "auth/jwt.hpp"

#include "auth/crypto.hpp"
#include "auth/openssl_ptr.hpp"
#include "util/error.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cmath>
#include <variant>

namespace mk::auth {
namespace {

using PkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BnPtr = OsslPtr<BIGNUM, BN_free>;
using ParamBldPtr = OsslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamsPtr = OsslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using EcSigPtr = OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;

// Caps on what a provider (or whoever sits on its TLS connection) can make us hold or compute.
// Dex and Google publish 1-4 keys in a few KiB; rotated keys linger for a while, hence room.
constexpr std::size_t kMaxJwksBytes = 256 * 1024;
constexpr std::size_t kMaxJwksKeys = 64;
// Under 2048 bits RSA is forgeable in practice; over 8192 only makes verification slow (DoS).
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;
constexpr std::size_t kMaxRsaExponentBytes = 8;
// An ID token is a few hundred bytes to a few KiB; the cap bounds decoding and JSON parsing.
constexpr std::size_t kMaxTokenBytes = 16 * 1024;

enum class Kty { rsa, ec };

struct Alg {
  std::string_view name;
  Kty kty;
  const EVP_MD* (*md)();
  bool pss;
  std::string_view curve;  // EC only: the one curve the algorithm is defined on (RFC 7518 3.4)
};

constexpr std::array<Alg, 8> kAlgs{{
    {"RS256", Kty::rsa, EVP_sha256, false, {}},
    {"RS384", Kty::rsa, EVP_sha384, false, {}},
    {"RS512", Kty::rsa, EVP_sha512, false, {}},
    {"PS256", Kty::rsa, EVP_sha256, true, {}},
    {"PS384", Kty::rsa, EVP_sha384, true, {}},
    {"PS512", Kty::rsa, EVP_sha512, true, {}},
    {"ES256", Kty::ec, EVP_sha256, false, "P-256"},
    {"ES384", Kty::ec, EVP_sha384, false, "P-384"},
}};

const Alg* find_alg(std::string_view name) {
  for (const auto& a : kAlgs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// P-256 and P-384 coordinates (and ES256/ES384 r, s) have a fixed width.
std::size_t curve_bytes(std::string_view crv) { return crv == "P-256" ? 32 : crv == "P-384" ? 48 : 0; }

[[noreturn]] void reject(std::string_view reason) { fail(Errc::unauthorized, std::string(reason)); }

std::string_view str_or_empty(const boost::json::object& o, std::string_view name) {
  auto* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_string();
}

BnPtr bn_from(std::string_view bytes) {
  BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
  if (!bn) fail(Errc::internal, "out of memory");
  return bn;
}

PkeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(raw);
}

}  // namespace

struct Jwks::Key {
  std::string kid;
  Kty kty;
  std::string alg;  // the JWK's `alg` when it names one; then only that algorithm may use the key
  std::string crv;  // EC only
  PkeyPtr pkey;
};

namespace {

// Builds one key from its JWK, or says why it is not usable (the caller skips it then).
std::variant<Jwks::Key, std::string> key_from_jwk(const boost::json::object& jwk) {
  Jwks::Key key{};
  key.kid = std::string(str_or_empty(jwk, "kid"));
  auto kty = str_or_empty(jwk, "kty");
  auto use = str_or_empty(jwk, "use");
  if (!use.empty() && use != "sig") return std::string("not a signing key");
  key.alg = std::string(str_or_empty(jwk, "alg"));
  const Alg* alg = key.alg.empty() ? nullptr : find_alg(key.alg);
  if (!key.alg.empty() && alg == nullptr) return "algorithm " + key.alg.substr(0, 16) + " not supported";
  auto field = [&](std::string_view name) { return base64url_decode(str_or_empty(jwk, name)); };

  if (kty == "RSA") {
    key.kty = Kty::rsa;
    if (alg != nullptr && alg->kty != Kty::rsa) return std::string("alg does not match kty");
    auto n = field("n"), e = field("e");
    if (!n || !e || n->empty() || e->empty()) return std::string("RSA key without valid n/e");
    if (e->size() > kMaxRsaExponentBytes) return std::string("RSA exponent too large");
    auto bn_n = bn_from(*n), bn_e = bn_from(*e);
    int bits = BN_num_bits(bn_n.get());
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      return "RSA key of " + std::to_string(bits) + " bits (allowed: 2048 to 8192)";
    }
    // e = 1 would make every message its own signature; an even e is not an RSA key.
    if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get()) || !BN_is_odd(bn_n.get())) {
      return std::string("RSA key with an invalid modulus or exponent");
    }
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
      fail(Errc::internal, "out of memory");
    }
    key.pkey = pkey_from_params("RSA", bld.get());
    if (!key.pkey) return std::string("RSA key rejected by OpenSSL");
    return key;
  }
  if (kty == "EC") {
    key.kty = Kty::ec;
    key.crv = std::string(str_or_empty(jwk, "crv"));
    std::size_t width = curve_bytes(key.crv);
    if (width == 0) return "curve " + key.crv.substr(0, 16) + " not supported";
    if (alg != nullptr && alg->curve != key.crv) return std::string("alg does not match crv");
    auto x = field("x"), y = field("y");
    // RFC 7518 6.2.1.2: coordinates are exactly the field width, leading zeros kept.
    if (!x || !y || x->size() != width || y->size() != width) return std::string("EC key without valid x/y");
    std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, key.crv.c_str(), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
      fail(Errc::internal, "out of memory");
    }
    key.pkey = pkey_from_params("EC", bld.get());
    if (!key.pkey) return std::string("EC key with an invalid point");
    // A point off the curve must never be used (invalid-curve attacks); check explicitly.
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) return std::string("EC key with an invalid point");
    return key;
  }
  // "oct" (shared secrets) is never usable for us: HMAC tokens are refused.
  return "key type " + std::string(kty.substr(0, 16)) + " not supported";
}

// JWS ECDSA signatures are r||s, fixed width (RFC 7518 3.4); OpenSSL verifies DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw, std::size_t width) {
  if (raw.size() != 2 * width) return std::nullopt;
  EcSigPtr sig(ECDSA_SIG_new());
  auto r = bn_from(raw.substr(0, width)), s = bn_from(raw.substr(width));
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) fail(Errc::internal, "out of memory");
  r.release();  // owned by sig now
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return std::nullopt;
  return der;
}

bool verify_signature(const Alg& alg, EVP_PKEY* pkey, std::string_view signing_input, std::string_view sig) {
  std::string der;
  if (alg.kty == Kty::ec) {
    auto d = ecdsa_raw_to_der(sig, curve_bytes(alg.curve));
    if (!d) return false;
    der = std::move(*d);
    sig = der;
  }
  MdCtxPtr md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  if (!md || EVP_DigestVerifyInit(md.get(), &pctx, alg.md(), nullptr, pkey) != 1) return false;
  if (alg.pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                  // RFC 7518 3.5: salt as long as the hash, MGF1 with the same hash.
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
                  EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, alg.md()) != 1)) {
    return false;
  }
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
}

// A JSON object from a base64url segment, or nullopt.
std::optional<boost::json::object> segment_object(std::string_view segment) {
  auto bytes = base64url_decode(segment);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  auto v = boost::json::parse(*bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return boost::json::object(std::move(v.get_object()));
}

struct Parts {
  std::string_view header, payload, signature, signing_input;
};

std::optional<Parts> split(std::string_view token) {
  auto a = token.find('.');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) return std::nullopt;
  return Parts{token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1), token.substr(0, b)};
}

// A NumericDate claim (seconds, possibly fractional); nullopt when absent, throws when not a number.
std::optional<double> numeric_date(const boost::json::object& claims, std::string_view name) {
  auto* v = claims.if_contains(name);
  if (v == nullptr) return std::nullopt;
  boost::system::error_code ec;
  double d = v->to_number<double>(ec);
  if (ec || std::isnan(d)) reject("ID token " + std::string(name) + " claim malformed");
  return d;
}

bool audience_ok(const boost::json::value* aud, const std::vector<std::string>& audiences) {
  auto one = [&](const boost::json::value& v) {
    if (!v.is_string()) return false;
    for (const auto& want : audiences) {
      if (std::string_view(v.get_string()) == want) return true;
    }
    return false;
  };
  if (aud == nullptr) return false;
  if (aud->is_string()) return one(*aud);
  if (!aud->is_array()) return false;
  for (const auto& v : aud->get_array()) {
    if (one(v)) return true;
  }
  return false;
}

}  // namespace

Jwks Jwks::parse(std::string_view json) {
  if (json.size() > kMaxJwksBytes) fail(Errc::invalid_argument, "JWKS document over 256 KiB");
  boost::system::error_code ec;
  auto doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) fail(Errc::invalid_argument, "JWKS document is not a JSON object");
  auto* keys = doc.get_object().if_contains("keys");
  if (keys == nullptr || !keys->is_array()) fail(Errc::invalid_argument, "JWKS document has no \"keys\" array");
  if (keys->get_array().size() > kMaxJwksKeys) fail(Errc::invalid_argument, "JWKS document has over 64 keys");
  Jwks out;
  std::string why;  // the first reason a key was skipped, for the error when none is left
  for (const auto& v : keys->get_array()) {
    if (!v.is_object()) {
      if (why.empty()) why = "a key is not a JSON object";
      continue;
    }
    auto key = key_from_jwk(v.get_object());
    if (auto* k = std::get_if<Key>(&key)) {
      out.keys_.push_back(std::make_shared<const Key>(std::move(*k)));
    } else if (why.empty()) {
      // kids are public identifiers, but bound their length in a message.
      auto kid = str_or_empty(v.get_object(), "kid").substr(0, 64);
      why = std::get<std::string>(key) + (kid.empty() ? "" : " (kid \"" + std::string(kid) + "\")");
    }
  }
  if (out.keys_.empty()) {
    fail(Errc::invalid_argument, "JWKS document has no usable signing key" + (why.empty() ? "" : ": " + why));
  }
  return out;
}

std::size_t Jwks::size() const { return keys_.size(); }

bool Jwks::has_kid(std::string_view kid) const {
  for (const auto& k : keys_) {
    if (k->kid == kid) return true;
  }
  return false;
}

std::string jwt_kid(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return {};
  auto parts = split(token);
  if (!parts) return {};
  auto header = segment_object(parts->header);
  if (!header) return {};
  return std::string(str_or_empty(*header, "kid"));
}

boost::json::object verify_jwt(std::string_view token, const Jwks& keys, const JwtCheck& check,
                               std::chrono::system_clock::time_point now) {
  // A check without issuer or audience would accept any provider's tokens: a wiring bug.
  if (check.issuer.empty() || check.audiences.empty()) {
    fail(Errc::internal, "ID token check configured without issuer or audience");
  }
  if (token.size() > kMaxTokenBytes) reject("ID token too large");
  auto parts = split(token);
  if (!parts) reject("ID token malformed (not three segments)");
  auto header = segment_object(parts->header);
  if (!header) reject("ID token header malformed");

  // The header only names an algorithm from our list and a key from the provider's JWKS; it can
  // never bring its own key (jwk, jku, x5u, x5c are ignored) nor downgrade to none or HMAC.
  auto* alg_v = header->if_contains("alg");
  if (alg_v == nullptr || !alg_v->is_string()) reject("ID token header has no alg");
  std::string_view alg_name = alg_v->get_string();
  if (alg_name == "none") reject("ID token is unsigned (alg none)");
  if (alg_name.substr(0, 2) == "HS") reject("ID token uses HMAC, which is refused");
  const Alg* alg = find_alg(alg_name);
  if (alg == nullptr) reject("ID token algorithm not supported");
  // RFC 7515 4.1.11: extensions marked critical must be understood; we understand none.
  if (header->contains("crit")) reject("ID token has critical header extensions");
  auto* kid_v = header->if_contains("kid");
  if (kid_v != nullptr && !kid_v->is_string()) reject("ID token header kid malformed");

  auto usable = [&](const Jwks::Key& k) {
    if (k.kty != alg->kty) return false;
    if (!k.alg.empty() && k.alg != alg->name) return false;
    return alg->kty != Kty::ec || k.crv == alg->curve;
  };
  std::vector<const Jwks::Key*> candidates;
  if (kid_v != nullptr) {
    bool kid_known = false;
    for (const auto& k : keys.keys_) {
      if (k->kid != std::string_view(kid_v->get_string())) continue;
      kid_known = true;
      if (usable(*k)) candidates.push_back(k.get());
    }
    if (!kid_known) reject("ID token signed by an unknown key");
    if (candidates.empty()) reject("ID token algorithm does not match its key");
  } else {
    // Without kid the choice is only unambiguous when one key fits.
    for (const auto& k : keys.keys_) {
      if (usable(*k)) candidates.push_back(k.get());
    }
    if (candidates.size() != 1) reject("ID token has no kid and no single key matches its algorithm");
  }

  auto sig = base64url_decode(parts->signature);
  if (!sig || sig->empty()) reject("ID token signature invalid");
  bool verified = false;
  for (const auto* k : candidates) {  // one, unless the JWKS repeats a kid
    if (verify_signature(*alg, k->pkey.get(), parts->signing_input, *sig)) {
      verified = true;
      break;
    }
  }
  if (!verified) reject("ID token signature invalid");

  // Only now, on content the provider signed, are the claims parsed.
  auto claims_opt = segment_object(parts->payload);
  if (!claims_opt) reject("ID token payload malformed");
  auto& claims = *claims_opt;

  if (str_or_empty(claims, "iss") != check.issuer) reject("ID token issuer mismatch");
  if (!audience_ok(claims.if_contains("aud"), check.audiences)) reject("ID token audience mismatch");

  const double t = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(check.leeway.count());
  auto exp = numeric_date(claims, "exp");
  if (!exp) reject("ID token has no exp");
  if (!(t <= *exp + leeway)) reject("ID token expired");
  if (auto nbf = numeric_date(claims, "nbf"); nbf && !(*nbf <= t + leeway)) reject("ID token not yet valid");
  if (auto iat = numeric_date(claims, "iat"); iat && !(*iat <= t + leeway)) reject("ID token issued in the future");

  if (!check.nonce.empty()) {
    auto* nonce = claims.if_contains("nonce");
    if (nonce == nullptr || !nonce->is_string() || !constant_time_equal(nonce->get_string(), check.nonce)) {
      reject("ID token nonce mismatch");
    }
  }
  return std::move(claims);
}

}  // namespace mk::auth
