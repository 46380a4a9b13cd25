// ID token verification against real signatures: keys are generated here with OpenSSL and tokens
// signed the way a provider signs them (jwt_signer.hpp). Each claim rule, each way of tampering,
// the algorithm-confusion attacks (none, HMAC keyed with the RSA public key, a kid of another key
// type) and malformed input are refused with Errc::unauthorized and a reason naming no content.
#include "auth/jwt.hpp"
#include "jwt_signer.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <boost/json/parse.hpp>

using namespace mk::auth;
namespace json = boost::json;
using std::chrono::seconds;

namespace {
const auto kNow = std::chrono::system_clock::time_point{seconds(1'800'000'000)};
constexpr std::int64_t kT = 1'800'000'000;
const char* kIss = "https://dex.example/dex";

struct Keys {
  idp::Pkey rsa = idp::rsa_key(2048), rsa2 = idp::rsa_key(2048), ec = idp::ec_key("P-256"),
            ec384 = idp::ec_key("P-384");
};
// Key generation is the slow part: once for the whole file.
const Keys& keys() {
  static const Keys k;
  return k;
}

std::string jwks_text(std::initializer_list<json::object> jwks) {
  json::array a;
  for (const auto& k : jwks) a.push_back(k);
  return json::serialize(json::object{{"keys", a}});
}
// The provider's JWKS: one RSA key, one P-256 and one P-384 key, each with a kid.
const Jwks& provider() {
  static const Jwks j = Jwks::parse(jwks_text(
      {idp::jwk(keys().rsa.get(), "rsa1"), idp::jwk(keys().ec.get(), "ec1"), idp::jwk(keys().ec384.get(), "ec384")}));
  return j;
}

JwtCheck check() {
  JwtCheck c;
  c.issuer = kIss;
  c.audiences = {"mcp-server"};
  c.nonce = "n-0S6_WzA2Mj";
  return c;
}

json::object claims() {
  return {{"iss", kIss},    {"sub", "CiQwOGE4Njg0Yi1kYjg4"}, {"aud", "mcp-server"},         {"exp", kT + 600},
          {"iat", kT - 10}, {"nonce", "n-0S6_WzA2Mj"},       {"email", "admin@example.com"}};
}

std::string rs256(const json::object& payload, json::object header = {}) {
  return idp::make_jwt("RS256", keys().rsa.get(), "rsa1", payload, std::move(header));
}

// The token is refused with Errc::unauthorized, a reason containing `why`, and none of the
// token's own text.
void expect_refused(const std::string& token, std::string_view why, const Jwks& jwks = provider(),
                    const JwtCheck& c = check()) {
  try {
    verify_jwt(token, jwks, c, kNow);
    ADD_FAILURE() << "accepted; expected: " << why;
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::unauthorized) << e.what();
    std::string msg = e.what();
    EXPECT_NE(msg.find(why), std::string::npos) << "reason: " << msg << "; expected: " << why;
    EXPECT_LT(msg.size(), 100u) << msg;
    for (std::string_view part :
         {std::string_view("CiQwOGE4"), std::string_view("admin@"), std::string_view("n-0S6_WzA2Mj")}) {
      EXPECT_EQ(msg.find(part), std::string::npos) << msg;
    }
    if (token.size() > 20) {
      EXPECT_EQ(msg.find(token.substr(token.size() - 20)), std::string::npos) << msg;
    }
  }
}

std::string with_payload(const std::string& token, const json::object& payload) {
  auto a = token.find('.'), b = token.rfind('.');
  return token.substr(0, a + 1) + base64url_encode(json::serialize(payload)) + token.substr(b);
}

std::string jwks_parse_error(const std::string& text) {
  try {
    Jwks::parse(text);
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::invalid_argument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "JWKS accepted";
  return {};
}
}  // namespace

TEST(Jwt, ValidTokenReturnsItsClaims) {
  auto c = verify_jwt(rs256(claims()), provider(), check(), kNow);
  EXPECT_EQ(c.at("sub").as_string(), "CiQwOGE4Njg0Yi1kYjg4");
  EXPECT_EQ(c.at("email").as_string(), "admin@example.com");
  EXPECT_EQ(jwt_kid(rs256(claims())), "rsa1");
}

TEST(Jwt, EveryAsymmetricAlgorithm) {
  for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) {
    auto t = idp::make_jwt(alg, keys().rsa.get(), "rsa1", claims());
    EXPECT_NO_THROW(verify_jwt(t, provider(), check(), kNow)) << alg;
  }
  EXPECT_NO_THROW(verify_jwt(idp::make_jwt("ES256", keys().ec.get(), "ec1", claims()), provider(), check(), kNow));
  EXPECT_NO_THROW(verify_jwt(idp::make_jwt("ES384", keys().ec384.get(), "ec384", claims()), provider(), check(), kNow));
}

TEST(Jwt, ExpiryWithLeeway) {
  auto c = claims();
  c["exp"] = kT - 30;  // expired, but within the 60 s leeway
  EXPECT_NO_THROW(verify_jwt(rs256(c), provider(), check(), kNow));
  c["exp"] = kT - 61;
  expect_refused(rs256(c), "expired");
  c["exp"] = static_cast<double>(kT) + 0.5;  // NumericDate may be fractional
  EXPECT_NO_THROW(verify_jwt(rs256(c), provider(), check(), kNow));
  auto tight = check();
  tight.leeway = seconds(0);
  c["exp"] = kT - 1;
  expect_refused(rs256(c), "expired", provider(), tight);
}

TEST(Jwt, ExpRequiredAndNumeric) {
  auto c = claims();
  c.erase("exp");
  expect_refused(rs256(c), "no exp");
  c["exp"] = "2099-01-01";
  expect_refused(rs256(c), "exp claim malformed");
  c["exp"] = true;
  expect_refused(rs256(c), "exp claim malformed");
}

TEST(Jwt, NotBeforeAndIssuedAt) {
  auto c = claims();
  c["nbf"] = kT + 30;  // within leeway
  EXPECT_NO_THROW(verify_jwt(rs256(c), provider(), check(), kNow));
  c["nbf"] = kT + 120;
  expect_refused(rs256(c), "not yet valid");
  c["nbf"] = "soon";
  expect_refused(rs256(c), "nbf claim malformed");
  c = claims();
  c["iat"] = kT + 120;
  expect_refused(rs256(c), "issued in the future");
}

TEST(Jwt, Issuer) {
  auto c = claims();
  c["iss"] = "https://dex.example/dex/";  // exact match, not prefix
  expect_refused(rs256(c), "issuer mismatch");
  c["iss"] = "https://evil.example/dex";
  expect_refused(rs256(c), "issuer mismatch");
  c["iss"] = json::array{kIss};
  expect_refused(rs256(c), "issuer mismatch");
  c.erase("iss");
  expect_refused(rs256(c), "issuer mismatch");
}

TEST(Jwt, Audience) {
  auto c = claims();
  c["aud"] = "other-client";
  expect_refused(rs256(c), "audience mismatch");
  c["aud"] = json::array{"kubernetes", "mcp-server"};  // Dex cross-client tokens
  EXPECT_NO_THROW(verify_jwt(rs256(c), provider(), check(), kNow));
  c["aud"] = json::array{"kubernetes", "other"};
  expect_refused(rs256(c), "audience mismatch");
  c["aud"] = json::array{};
  expect_refused(rs256(c), "audience mismatch");
  c["aud"] = json::array{json::array{"mcp-server"}};
  expect_refused(rs256(c), "audience mismatch");
  c["aud"] = 7;
  expect_refused(rs256(c), "audience mismatch");
  c.erase("aud");
  expect_refused(rs256(c), "audience mismatch");
  // Any of several trusted audiences.
  auto several = check();
  several.audiences = {"a", "kubernetes"};
  c["aud"] = "kubernetes";
  EXPECT_NO_THROW(verify_jwt(rs256(c), provider(), several, kNow));
}

TEST(Jwt, Nonce) {
  auto c = claims();
  c["nonce"] = "n-0S6_WzA2Mk";
  expect_refused(rs256(c), "nonce mismatch");
  c["nonce"] = 1;
  expect_refused(rs256(c), "nonce mismatch");
  c.erase("nonce");
  expect_refused(rs256(c), "nonce mismatch");
  auto no_nonce = check();
  no_nonce.nonce.clear();  // a refresh-grant ID token carries none
  EXPECT_NO_THROW(verify_jwt(rs256(c), provider(), no_nonce, kNow));
}

TEST(Jwt, TamperedSignatureOrPayload) {
  auto t = rs256(claims());
  auto c = claims();
  c["email"] = "viewer@example.com";
  expect_refused(with_payload(t, c), "signature invalid");
  auto sig = *base64url_decode(t.substr(t.rfind('.') + 1));
  auto head = t.substr(0, t.rfind('.') + 1);
  for (std::size_t i : {std::size_t{0}, sig.size() / 2, sig.size() - 1}) {
    auto bad = sig;
    bad[i] ^= 0x01;
    expect_refused(head + base64url_encode(bad), "signature invalid");
  }
  expect_refused(head + base64url_encode(sig.substr(0, sig.size() - 1)), "signature invalid");
  expect_refused(head + base64url_encode(sig + '\0'), "signature invalid");
  expect_refused(head, "signature invalid");                                     // empty signature
  expect_refused(head + t.substr(t.rfind('.') + 1) + "*", "signature invalid");  // undecodable
  // A valid signature by another RSA key under the provider's kid.
  expect_refused(idp::make_jwt("RS256", keys().rsa2.get(), "rsa1", claims()), "signature invalid");
  // ES: r||s of the wrong width, and the header re-labelled to another algorithm.
  auto es = idp::make_jwt("ES256", keys().ec.get(), "ec1", claims());
  auto es_sig = *base64url_decode(es.substr(es.rfind('.') + 1));
  expect_refused(es.substr(0, es.rfind('.') + 1) + base64url_encode(es_sig.substr(1)), "signature invalid");
  expect_refused(es.substr(0, es.rfind('.') + 1) + base64url_encode(std::string(64, '\0')), "signature invalid");
  auto ps = idp::make_jwt("PS256", keys().rsa.get(), "rsa1", claims());
  auto relabelled = base64url_encode(R"({"alg":"RS256","kid":"rsa1"})") + ps.substr(ps.find('.'));
  expect_refused(relabelled, "signature invalid");
}

TEST(Jwt, AlgNoneRefused) {
  auto payload = base64url_encode(json::serialize(claims()));
  for (const char* header : {R"({"alg":"none"})", R"({"alg":"none","kid":"rsa1"})"}) {
    expect_refused(base64url_encode(header) + "." + payload + ".", "unsigned");
    expect_refused(base64url_encode(header) + "." + payload + "." + base64url_encode("sig"), "unsigned");
  }
  expect_refused(base64url_encode(R"({"alg":"None","kid":"rsa1"})") + "." + payload + ".", "not supported");
  // Duplicate members: the last one counts (RFC 7515 4), so "none" cannot hide behind an RS256.
  auto dup = base64url_encode(R"({"alg":"RS256","kid":"rsa1","alg":"none"})");
  expect_refused(idp::sign_segments("RS256", keys().rsa.get(), dup, payload), "unsigned");
  expect_refused(base64url_encode(R"({"kid":"rsa1"})") + "." + payload + ".x", "no alg");
  expect_refused(base64url_encode(R"({"alg":7,"kid":"rsa1"})") + "." + payload + ".x", "no alg");
}

TEST(Jwt, HmacKeyedWithThePublicKeyRefused) {
  // The classic confusion: a verifier that hands "the key" to whatever alg the header names
  // would check an HMAC keyed with the public key, which anyone can compute.
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, keys().rsa.get()), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  std::string n = idp::bn_param(keys().rsa.get(), OSSL_PKEY_PARAM_RSA_N);
  for (const std::string& secret : {pem, n}) {
    for (const char* alg : {"HS256", "HS384", "HS512"}) {
      expect_refused(idp::make_jwt(alg, nullptr, "rsa1", claims(), {}, secret), "HMAC");
      expect_refused(idp::make_jwt(alg, nullptr, "", claims(), {}, secret), "HMAC");
    }
  }
}

TEST(Jwt, KeySelection) {
  expect_refused(idp::make_jwt("RS256", keys().rsa.get(), "rotated-away", claims()), "unknown key");
  // A kid of another key type than the algorithm: the EC key's kid on an RS256 token and back.
  expect_refused(idp::make_jwt("RS256", keys().rsa.get(), "ec1", claims()), "does not match its key");
  expect_refused(idp::make_jwt("ES256", keys().ec.get(), "rsa1", claims()), "does not match its key");
  // ES384 needs a P-384 key; the P-256 key's kid does not do.
  expect_refused(idp::make_jwt("ES384", keys().ec384.get(), "ec1", claims()), "does not match its key");
  expect_refused(idp::make_jwt("RS256", keys().rsa.get(), "", claims(), {{"kid", 5}}), "kid malformed");

  // A JWK that names its alg is used with that alg only.
  auto pinned = Jwks::parse(jwks_text({idp::jwk(keys().rsa.get(), "rsa1", "RS256")}));
  EXPECT_NO_THROW(verify_jwt(rs256(claims()), pinned, check(), kNow));
  expect_refused(idp::make_jwt("PS256", keys().rsa.get(), "rsa1", claims()), "does not match its key", pinned);

  // No kid: fine when exactly one key fits the algorithm, refused when the choice is ambiguous.
  auto no_kid = idp::make_jwt("RS256", keys().rsa.get(), "", claims());
  EXPECT_EQ(jwt_kid(no_kid), "");
  EXPECT_NO_THROW(verify_jwt(no_kid, provider(), check(), kNow));
  auto two_rsa = Jwks::parse(jwks_text({idp::jwk(keys().rsa.get(), "rsa1"), idp::jwk(keys().rsa2.get(), "rsa2")}));
  expect_refused(no_kid, "no kid", two_rsa);
  EXPECT_NO_THROW(verify_jwt(rs256(claims()), two_rsa, check(), kNow));
  EXPECT_NO_THROW(verify_jwt(idp::make_jwt("RS256", keys().rsa2.get(), "rsa2", claims()), two_rsa, check(), kNow));
  expect_refused(idp::make_jwt("ES256", keys().ec.get(), "", claims()), "no kid", two_rsa);

  // A header cannot bring its own key.
  auto own = idp::jwk(keys().rsa2.get(), "rsa1");
  expect_refused(idp::make_jwt("RS256", keys().rsa2.get(), "rsa1", claims(), {{"jwk", own}}), "signature invalid");
  expect_refused(rs256(claims(), {{"crit", json::array{"exp"}}}), "critical");
}

TEST(Jwt, MalformedTokens) {
  auto t = rs256(claims());
  for (std::string bad : {std::string(""), std::string("."), std::string(".."), std::string("abc"),
                          t.substr(0, t.rfind('.')), t + ".", t + ".x", "x." + t}) {
    try {
      verify_jwt(bad, provider(), check(), kNow);
      ADD_FAILURE() << "accepted";
    } catch (const mk::Error& e) {
      EXPECT_EQ(e.code(), mk::Errc::unauthorized);
    }
  }
  expect_refused("a.b", "not three segments");
  expect_refused("a.b.c.d", "not three segments");
  auto rest = t.substr(t.find('.'));
  expect_refused("e30*" + rest, "header malformed");                                    // bad base64
  expect_refused(base64url_encode("{\"alg\":") + rest, "header malformed");             // not JSON
  expect_refused(base64url_encode(R"(["RS256"])") + rest, "header malformed");          // not an object
  expect_refused(base64url_encode(R"({"alg":"RS256"} x)") + rest, "header malformed");  // trailing junk
  // A validly signed payload that is not a JSON object is still refused.
  auto header = base64url_encode(R"({"alg":"RS256","kid":"rsa1"})");
  expect_refused(idp::sign_segments("RS256", keys().rsa.get(), header, "e30*"), "payload malformed");
  expect_refused(idp::sign_segments("RS256", keys().rsa.get(), header, base64url_encode("{\"iss\"")),
                 "payload malformed");
  expect_refused(idp::sign_segments("RS256", keys().rsa.get(), header, base64url_encode("[1,2]")), "payload malformed");
  expect_refused(idp::sign_segments("RS256", keys().rsa.get(), header, base64url_encode("\"x\"")), "payload malformed");
  // Over 16 KiB: refused before any parsing, even when validly signed.
  auto big = claims();
  big["groups"] = std::string(17 * 1024, 'g');
  expect_refused(rs256(big), "too large");
  EXPECT_EQ(jwt_kid(rs256(big)), "");
  EXPECT_EQ(jwt_kid("not a token"), "");
  EXPECT_EQ(jwt_kid(base64url_encode(R"({"kid":7})") + ".e30.x"), "");
}

TEST(Jwt, CheckWithoutIssuerOrAudienceIsAWiringBug) {
  auto c = check();
  c.issuer.clear();
  EXPECT_THROW(verify_jwt(rs256(claims()), provider(), c, kNow), mk::Error);
  c = check();
  c.audiences.clear();
  EXPECT_THROW(verify_jwt(rs256(claims()), provider(), c, kNow), mk::Error);
}

TEST(Jwks, SkipsWhatCannotVerifyAndKeepsTheRest) {
  auto enc = idp::jwk(keys().rsa2.get(), "enc1");
  enc["use"] = "enc";
  json::object oct{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}, {"alg", "HS256"}};
  json::object okp{
      {"kty", "OKP"}, {"kid", "ed"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
  auto jwks = Jwks::parse(jwks_text({enc, oct, okp, idp::jwk(keys().rsa.get(), "rsa1")}));
  EXPECT_EQ(jwks.size(), 1u);
  EXPECT_TRUE(jwks.has_kid("rsa1"));
  EXPECT_FALSE(jwks.has_kid("enc1"));
  EXPECT_FALSE(jwks.has_kid("hmac"));
  EXPECT_FALSE(jwks.has_kid("ed"));
  // A token naming the skipped encryption key is refused as signed by an unknown key.
  expect_refused(idp::make_jwt("RS256", keys().rsa2.get(), "enc1", claims()), "unknown key", jwks);
  expect_refused(idp::make_jwt("HS256", nullptr, "hmac", claims(), {}, "secret"), "HMAC", jwks);
}

TEST(Jwks, RefusesWeakOrMalformedKeys) {
  auto small = idp::rsa_key(1024);
  EXPECT_NE(jwks_parse_error(jwks_text({idp::jwk(small.get(), "small")})).find("1024 bits"), std::string::npos);
  auto bad_n = idp::jwk(keys().rsa.get(), "k");
  bad_n["n"] = "not+base64url";
  EXPECT_NE(jwks_parse_error(jwks_text({bad_n})).find("n/e"), std::string::npos);
  bad_n["n"] = 5;
  jwks_parse_error(jwks_text({bad_n}));
  auto no_e = idp::jwk(keys().rsa.get(), "k");
  no_e.erase("e");
  jwks_parse_error(jwks_text({no_e}));
  auto e_one = idp::jwk(keys().rsa.get(), "k");
  e_one["e"] = base64url_encode("\x01");  // every message would be its own signature
  jwks_parse_error(jwks_text({e_one}));
  auto huge = idp::jwk(keys().rsa.get(), "k");
  huge["n"] = base64url_encode("\x01" + std::string(1025, '\xff'));  // 8201 bits
  EXPECT_NE(jwks_parse_error(jwks_text({huge})).find("bits"), std::string::npos);

  auto short_x = idp::jwk(keys().ec.get(), "k");
  short_x["x"] = base64url_encode(base64url_decode(std::string(short_x["x"].as_string()))->substr(1));
  jwks_parse_error(jwks_text({short_x}));
  auto off_curve = idp::jwk(keys().ec.get(), "k");
  auto y = *base64url_decode(std::string(off_curve["y"].as_string()));
  y.back() ^= 1;
  off_curve["y"] = base64url_encode(y);
  EXPECT_NE(jwks_parse_error(jwks_text({off_curve})).find("point"), std::string::npos);
  auto p521 = idp::jwk(keys().ec.get(), "k");
  p521["crv"] = "P-521";
  jwks_parse_error(jwks_text({p521}));
  auto mismatched = idp::jwk(keys().ec.get(), "k", "ES384");  // a P-256 key
  jwks_parse_error(jwks_text({mismatched}));
  auto rsa_as_es = idp::jwk(keys().rsa.get(), "k", "ES256");
  jwks_parse_error(jwks_text({rsa_as_es}));

  // One bad key among good ones is only skipped (a provider may publish what we do not use).
  auto mixed = Jwks::parse(jwks_text({bad_n, idp::jwk(keys().ec.get(), "ec1")}));
  EXPECT_EQ(mixed.size(), 1u);
}

TEST(Jwks, RefusesMalformedOrOversizedDocuments) {
  jwks_parse_error("");
  jwks_parse_error("not json");
  jwks_parse_error("[]");
  jwks_parse_error("{}");
  jwks_parse_error(R"({"keys":{}})");
  jwks_parse_error(R"({"keys":[]})");
  jwks_parse_error(R"({"keys":[1,"x",null]})");
  json::array many;
  for (int i = 0; i < 65; ++i) many.push_back(idp::jwk(keys().ec.get(), "k" + std::to_string(i)));
  EXPECT_NE(jwks_parse_error(json::serialize(json::object{{"keys", many}})).find("64 keys"), std::string::npos);
  many.pop_back();
  EXPECT_EQ(Jwks::parse(json::serialize(json::object{{"keys", many}})).size(), 64u);
  auto padded = jwks_text({idp::jwk(keys().ec.get(), "k")});
  padded.insert(1, std::string(256 * 1024, ' '));
  EXPECT_NE(jwks_parse_error(padded).find("256 KiB"), std::string::npos);
}
