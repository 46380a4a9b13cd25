#pragma once
// Test-only: what an OpenID provider does (generate keys, publish a JWKS, sign ID tokens), with
// OpenSSL's EVP API, so the verifier is tested against real signatures. Shared by the unit tests
// and the fuzz target (fuzz/jwt_verify.cpp).
#include "auth/crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mk::auth::idp {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline Pkey rsa_key(unsigned bits = 2048) {
  Pkey k(EVP_RSA_gen(bits));
  if (!k) throw std::runtime_error("RSA keygen failed");
  return k;
}
inline Pkey ec_key(const char* curve = "P-256") {
  Pkey k(EVP_EC_gen(curve));
  if (!k) throw std::runtime_error("EC keygen failed");
  return k;
}

inline std::string bn_param(EVP_PKEY* k, const char* name, std::size_t width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error("no such key parameter");
  std::size_t len = width ? width : static_cast<std::size_t>(BN_num_bytes(bn));
  std::string out(len, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(len));
  BN_free(bn);
  return out;
}

// The public JWK of `k` ("kid" and "alg" only when given).
inline boost::json::object jwk(EVP_PKEY* k, std::string_view kid, std::string_view alg = {}) {
  boost::json::object o;
  if (EVP_PKEY_is_a(k, "RSA")) {
    o["kty"] = "RSA";
    o["n"] = base64url_encode(bn_param(k, OSSL_PKEY_PARAM_RSA_N));
    o["e"] = base64url_encode(bn_param(k, OSSL_PKEY_PARAM_RSA_E));
  } else {
    char group[32] = {};
    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr);
    std::string crv = std::string_view(group) == "prime256v1" ? "P-256" : "P-384";
    std::size_t width = crv == "P-256" ? 32 : 48;
    o["kty"] = "EC";
    o["crv"] = crv;
    o["x"] = base64url_encode(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, width));
    o["y"] = base64url_encode(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, width));
  }
  o["use"] = "sig";
  if (!kid.empty()) o["kid"] = kid;
  if (!alg.empty()) o["alg"] = alg;
  return o;
}

inline const EVP_MD* md_of(std::string_view alg) {
  if (alg.ends_with("384")) return EVP_sha384();
  if (alg.ends_with("512")) return EVP_sha512();
  return EVP_sha256();
}

// The JWS signature of `input` with `alg` (ES: DER converted to fixed-width r||s; HS: HMAC
// with `secret`).
inline std::string sign(std::string_view alg, EVP_PKEY* k, std::string_view input, std::string_view secret = {}) {
  auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (alg.starts_with("HS")) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md_of(alg), secret.data(), static_cast<int>(secret.size()), data, input.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(md.get(), &pctx, md_of(alg), nullptr, k) != 1) throw std::runtime_error("sign init");
  if (alg.starts_with("PS")) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  std::size_t len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &len, data, input.size()) != 1) throw std::runtime_error("sign size");
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) != 1) {
    throw std::runtime_error("sign");
  }
  sig.resize(len);
  if (!alg.starts_with("ES")) return sig;
  std::size_t width = alg == "ES256" ? 32 : 48;
  auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(2 * width, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(width));
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data() + width), static_cast<int>(width));
  ECDSA_SIG_free(es);
  return raw;
}

// header.payload.signature with the header's "alg" (and "kid" when not empty); `header_extra`
// members are added to the header.
inline std::string make_jwt(std::string_view alg, EVP_PKEY* k, std::string_view kid, const boost::json::object& payload,
                            boost::json::object header = {}, std::string_view secret = {}) {
  header["alg"] = alg;
  if (!kid.empty()) header["kid"] = kid;
  std::string input =
      base64url_encode(boost::json::serialize(header)) + "." + base64url_encode(boost::json::serialize(payload));
  return input + "." + base64url_encode(sign(alg, k, input, secret));
}

// A token over raw segments (already encoded or deliberately malformed), signed as given.
inline std::string sign_segments(std::string_view alg, EVP_PKEY* k, std::string_view header_b64,
                                 std::string_view payload_b64) {
  std::string input = std::string(header_b64) + "." + std::string(payload_b64);
  return input + "." + base64url_encode(sign(alg, k, input));
}

}  // namespace mk::auth::idp
