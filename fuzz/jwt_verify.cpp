// ID tokens and JWKS documents from a hostile provider or client: verify_jwt, jwt_kid,
// Jwks::parse, base64url and the Sealer. Byte 0 picks the mode (low 2 bits):
//   0  the rest is a token, verified against a fixed JWKS (RSA 2048, P-256, P-384 keys)
//   1  the rest is a JWKS document; if it parses, a fixed token is verified against it
//   2  the rest is "<header JSON>\n<payload JSON>", signed here with a real key (bits 2-3 pick
//      RS256, PS256, ES256, ES384), so the claim checks are reached with any header and claims
//   3  the rest is base64url text / a sealed value
// Invariants checked: an accepted token has the configured iss, an audience, an unexpired exp,
// and was signed with the algorithm and key its header names; a base64url decoding is
// canonical; nothing opens under the Sealer's key unless it was sealed with it.
#include "../test/unit/jwt_signer.hpp"
#include "auth/crypto.hpp"
#include "auth/jwt.hpp"
#include "util/error.hpp"

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mk::auth;

namespace {
constexpr std::int64_t kT = 1'800'000'000;
const auto kNow = std::chrono::system_clock::time_point{std::chrono::seconds(kT)};

struct World {
  idp::Pkey rsa = idp::rsa_key(2048), ec = idp::ec_key("P-256"), ec384 = idp::ec_key("P-384");
  Jwks jwks = Jwks::parse(boost::json::serialize(
      boost::json::object{{"keys", boost::json::array{idp::jwk(rsa.get(), "rsa1"), idp::jwk(ec.get(), "ec1"),
                                                      idp::jwk(ec384.get(), "ec384")}}}));
  std::string good = idp::make_jwt("ES256", ec.get(), "ec1",
                                   {{"iss", "https://idp"}, {"aud", "mcp"}, {"exp", kT + 60}, {"nonce", "n"}});
  Sealer sealer{std::string(32, 'k')};
};
const World& world() {
  static const World w;
  return w;
}

JwtCheck check() {
  JwtCheck c;
  c.issuer = "https://idp";
  c.audiences = {"mcp", "kubernetes"};
  c.nonce = "n";
  return c;
}

void require(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// What an accepted token must satisfy, whatever the input was.
void check_accepted(const boost::json::object& claims) {
  auto* iss = claims.if_contains("iss");
  require(iss && iss->is_string() && iss->get_string() == "https://idp", "accepted with another iss");
  require(claims.contains("aud"), "accepted without aud");
  auto* exp = claims.if_contains("exp");
  require(exp && exp->is_number() && exp->to_number<double>() >= double(kT - 60), "accepted expired");
  auto* nonce = claims.if_contains("nonce");
  require(nonce && nonce->is_string() && nonce->get_string() == "n", "accepted with another nonce");
}

void verify_token(std::string_view token, const Jwks& jwks) {
  (void)jwt_kid(token);
  try {
    check_accepted(verify_jwt(token, jwks, check(), kNow));
  } catch (const mk::Error& e) {
    require(e.code() == mk::Errc::unauthorized, "verify_jwt threw another error code");
  }
}

void signed_claims(std::string_view in, unsigned which) {
  const World& w = world();
  auto nl = in.find('\n');
  if (nl == std::string_view::npos) return;
  static const char* const kAlg[] = {"RS256", "PS256", "ES256", "ES384"};
  const char* alg = kAlg[which];
  EVP_PKEY* key = which < 2 ? w.rsa.get() : which == 2 ? w.ec.get() : w.ec384.get();
  std::string input = base64url_encode(in.substr(0, nl)) + "." + base64url_encode(in.substr(nl + 1));
  std::string token = input + "." + base64url_encode(idp::sign(alg, key, input));
  try {
    auto claims = verify_jwt(token, w.jwks, check(), kNow);
    check_accepted(claims);
    // Accepted means the header named exactly what signed it.
    auto header = boost::json::parse(in.substr(0, nl)).as_object();
    require(header.at("alg").as_string() == alg, "accepted under another alg");
    const char* kid = which < 2 ? "rsa1" : which == 2 ? "ec1" : "ec384";
    auto* hk = header.if_contains("kid");
    require(hk == nullptr || hk->as_string() == kid, "accepted under another kid");
  } catch (const mk::Error& e) {
    require(e.code() == mk::Errc::unauthorized, "verify_jwt threw another error code");
  }
}

void codec(std::string_view in) {
  const World& w = world();
  if (auto bytes = base64url_decode(in)) {
    std::string_view unpadded = in;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
    require(base64url_encode(*bytes) == unpadded, "base64url decoding not canonical");
  }
  require(!w.sealer.open(in).has_value() && !w.sealer.open(in, "aad").has_value(), "forged a sealed value");
  require(w.sealer.open(w.sealer.seal(in, "aad"), "aad") == in, "seal/open round trip");
  try {
    (void)Sealer::from_text(in);
  } catch (const mk::Error& e) {
    require(e.code() == mk::Errc::invalid_argument, "from_text threw another error code");
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const World& w = world();
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] & 3) {
    case 0: verify_token(in, w.jwks); break;
    case 1:
      try {
        auto jwks = Jwks::parse(in);
        require(jwks.size() >= 1 && jwks.size() <= 64, "JWKS size out of bounds");
        verify_token(w.good, jwks);
      } catch (const mk::Error& e) {
        require(e.code() == mk::Errc::invalid_argument, "Jwks::parse threw another error code");
      }
      break;
    case 2: signed_claims(in, (data[0] >> 2) & 3); break;
    case 3: codec(in); break;
  }
  return 0;
}
