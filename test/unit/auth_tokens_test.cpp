// Token rules on the memory store: PKCE, single-use codes, refresh rotation with reuse
// detection revoking the family, revocation.
#include "auth/crypto.hpp"
#include "auth/memory_store.hpp"
#include "auth/oauth_error.hpp"
#include "auth/tokens.hpp"
#include "auth_test_util.hpp"

#include <gtest/gtest.h>

using namespace mk::auth;
using auth_test::run;

namespace {

const std::string kVerifier = "verifier-0123456789-0123456789-0123456789-abcdef";

class TokensTest : public ::testing::Test {
 protected:
  TokensTest() : store(make_memory_store()), sealer(std::string(32, 'k')), tokens(*store, sealer, cfg) {
    cfg.base_url = "https://mcp.test";
  }
  std::string code_for(const std::string& client = "c1") {
    CodeRecord rec{client,
                   "http://127.0.0.1:9/cb",
                   sha256_b64url(kVerifier),
                   "https://mcp.test/mcp",
                   "",
                   UserInfo{"sub-1", "u@example.com", {"g"}},
                   tokens.seal("sub-1", "idtok", "uprefresh", 4102444800)};
    return run(io, tokens.new_code(rec));
  }
  Issued redeem(const std::string& code, const std::string& verifier = kVerifier, const std::string& client = "c1") {
    return run(io, tokens.redeem_code(code, client, "http://127.0.0.1:9/cb", verifier, "https://mcp.test/mcp"));
  }
  bool active(const std::string& access) { return run(io, tokens.check_access(access)).has_value(); }
  std::string grant_error(auto&& f) {
    try {
      f();
    } catch (const OAuthError& e) {
      return e.code;
    }
    return "none";
  }

  boost::asio::io_context io;
  AuthConfig cfg;
  std::unique_ptr<Store> store;
  Sealer sealer;
  Tokens tokens;
};

TEST(Pkce, S256AndVerifierFormat) {
  EXPECT_TRUE(pkce_matches(kVerifier, sha256_b64url(kVerifier)));
  EXPECT_FALSE(pkce_matches(kVerifier + "x", sha256_b64url(kVerifier)));
  EXPECT_FALSE(valid_pkce_verifier("short"));
  EXPECT_FALSE(valid_pkce_verifier(std::string(129, 'a')));
  EXPECT_FALSE(valid_pkce_verifier(std::string(50, 'a') + " "));
  EXPECT_TRUE(valid_pkce_challenge(sha256_b64url("x")));
  EXPECT_FALSE(valid_pkce_challenge("plain-challenge"));
}

TEST_F(TokensTest, CodeRedeemsOnceAndTokensWork) {
  auto code = code_for();
  auto t = redeem(code);
  EXPECT_FALSE(t.access_token.empty());
  EXPECT_FALSE(t.refresh_token.empty());
  EXPECT_TRUE(active(t.access_token));
  auto a = run(io, tokens.check_access(t.access_token));
  EXPECT_EQ(a->grant.user.subject, "sub-1");
  EXPECT_EQ(tokens.open_id_token(a->grant), "idtok");  // sealed in the store, opens with the key
  // Stored hashed: the store has no key or value containing the token.
  EXPECT_FALSE(run(io, store->get("at:" + t.access_token)).has_value());
}

TEST_F(TokensTest, ReusedCodeIsRefusedAndRevokesItsGrant) {
  auto code = code_for();
  auto t = redeem(code);
  EXPECT_EQ(grant_error([&] { redeem(code); }), "invalid_grant");
  EXPECT_FALSE(active(t.access_token));  // what was issued from the code is revoked
}

TEST_F(TokensTest, WrongVerifierConsumesTheCode) {
  auto code = code_for();
  EXPECT_EQ(grant_error([&] { redeem(code, kVerifier + "-wrong"); }), "invalid_grant");
  EXPECT_EQ(grant_error([&] { redeem(code); }), "invalid_grant");  // no second guess
}

TEST_F(TokensTest, CodeOfAnotherClientOrRedirectIsRefused) {
  auto code = code_for("c1");
  EXPECT_EQ(grant_error([&] { redeem(code, kVerifier, "c2"); }), "invalid_grant");
  auto code2 = code_for("c1");
  EXPECT_EQ(grant_error([&] { run(io, tokens.redeem_code(code2, "c1", "http://127.0.0.1:9/other", kVerifier, "")); }),
            "invalid_grant");
}

TEST_F(TokensTest, ResourceMustMatch) {
  auto code = code_for();
  EXPECT_EQ(grant_error([&] {
              run(io, tokens.redeem_code(code, "c1", "http://127.0.0.1:9/cb", kVerifier, "https://other.test/mcp"));
            }),
            "invalid_target");
}

TEST_F(TokensTest, RefreshRotatesAndReplayRevokesTheFamily) {
  auto t1 = redeem(code_for());
  auto t2 = run(io, tokens.refresh(t1.refresh_token, "c1", ""));
  EXPECT_NE(t2.refresh_token, t1.refresh_token);
  EXPECT_EQ(t2.family, t1.family);
  EXPECT_TRUE(active(t2.access_token));
  // The old refresh token again: a replay. Refused, and the newer tokens stop working too.
  EXPECT_EQ(grant_error([&] { run(io, tokens.refresh(t1.refresh_token, "c1", "")); }), "invalid_grant");
  EXPECT_FALSE(active(t2.access_token));
  EXPECT_EQ(grant_error([&] { run(io, tokens.refresh(t2.refresh_token, "c1", "")); }), "invalid_grant");
}

TEST_F(TokensTest, RefreshByAnotherClientRevokes) {
  auto t1 = redeem(code_for());
  EXPECT_EQ(grant_error([&] { run(io, tokens.refresh(t1.refresh_token, "c2", "")); }), "invalid_grant");
  EXPECT_FALSE(active(t1.access_token));
}

TEST_F(TokensTest, RevokeAccessAndRefresh) {
  auto t = redeem(code_for());
  run(io, tokens.revoke(t.access_token, "other-client"));  // not theirs: ignored
  EXPECT_TRUE(active(t.access_token));
  run(io, tokens.revoke(t.access_token, "c1"));
  EXPECT_FALSE(active(t.access_token));
  auto t2 = run(io, tokens.refresh(t.refresh_token, "c1", ""));
  run(io, tokens.revoke(t2.refresh_token, "c1"));  // a refresh token revokes the family
  EXPECT_FALSE(active(t2.access_token));
}

TEST_F(TokensTest, UnknownAndOversizedTokensAreInactive) {
  EXPECT_FALSE(active("nope"));
  EXPECT_FALSE(active(std::string(10000, 'a')));
  EXPECT_FALSE(active(""));
}

}  // namespace
