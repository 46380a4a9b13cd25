// Client ID Metadata Documents: the SSRF address rules, the URL rules and the document rules
// (the fetch itself is exercised end to end in test/e2e/tests/oauth_cimd.test.mjs).
#include "auth/cimd.hpp"
#include "auth/oauth_error.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using namespace mk::auth;
namespace json = boost::json;

namespace {
bool pub(const char* text) { return public_address(boost::asio::ip::make_address(text)); }

const std::string kUrl = "https://app.example.com/oauth/client.json";

std::string doc(json::object extra = {}) {
  json::object o{{"client_id", kUrl},
                 {"client_name", "Example"},
                 {"redirect_uris", json::array{"http://127.0.0.1:3000/cb", "https://app.example.com/cb"}}};
  for (auto& kv : extra) o[kv.key()] = kv.value();
  return json::serialize(o);
}

std::string refusal(const std::string& body) {
  try {
    parse_cimd_document(kUrl, body, CimdOptions{});
  } catch (const OAuthError& e) {
    EXPECT_EQ(e.code, "invalid_client");
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Cimd, OnlyPublicAddressesMayBeFetched) {
  for (auto a : {"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"}) EXPECT_TRUE(pub(a)) << a;
  for (auto a : {"127.0.0.1", "127.8.9.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                 "100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
                 "192.0.2.1", "198.18.0.1",
                 // IPv6: loopback, unspecified, link-local, unique local, multicast, documentation
                 "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
                 // IPv4 addresses wrapped in IPv6
                 "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a00:1",
                 "2002:7f00:1::1", "2002:a00:1::1"})
    EXPECT_FALSE(pub(a)) << a;
  EXPECT_TRUE(pub("::ffff:8.8.8.8"));
  EXPECT_TRUE(pub("64:ff9b::808:808"));
  EXPECT_TRUE(pub("172.32.0.1"));  // just outside 172.16/12
}

TEST(Cimd, UrlRules) {
  EXPECT_EQ(check_cimd_url(kUrl, 2048), "");
  EXPECT_EQ(check_cimd_url("https://app.example.com:8443/c?v=1", 2048), "");
  EXPECT_NE(check_cimd_url("http://app.example.com/client.json", 2048), "");
  EXPECT_NE(check_cimd_url("https://app.example.com", 2048), "");
  EXPECT_NE(check_cimd_url("https://app.example.com/", 2048), "");
  EXPECT_NE(check_cimd_url("https://user:pw@app.example.com/c", 2048), "");
  EXPECT_NE(check_cimd_url("https://app.example.com/c#frag", 2048), "");
  EXPECT_NE(check_cimd_url("https://app.example.com/a/../c", 2048), "");
  EXPECT_NE(check_cimd_url("https://app.example.com/" + std::string(3000, 'a'), 2048), "");
  EXPECT_TRUE(looks_like_url(kUrl));
  EXPECT_FALSE(looks_like_url("Zm9vYmFy"));
}

TEST(Cimd, ValidDocumentBecomesAPublicClient) {
  auto c = parse_cimd_document(kUrl, doc(), CimdOptions{});
  EXPECT_EQ(c.client_id, kUrl);
  EXPECT_EQ(c.name, "Example");
  EXPECT_TRUE(c.is_public());
  EXPECT_EQ(c.auth_method, "none");
  ASSERT_EQ(c.redirect_uris.size(), 2u);
  EXPECT_EQ(c.redirect_uris[1], "https://app.example.com/cb");
  EXPECT_NO_THROW(parse_cimd_document(kUrl, doc({{"token_endpoint_auth_method", "none"}}), CimdOptions{}));
}

TEST(Cimd, InvalidDocumentsAreRefusedWithTheReason) {
  EXPECT_NE(refusal("not json").find("not a JSON object"), std::string::npos);
  EXPECT_NE(refusal("[]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(refusal(doc({{"client_id", "https://evil.example.com/client.json"}})).find("client_id"), std::string::npos);
  EXPECT_NE(refusal(doc({{"client_id", nullptr}})).find("client_id"), std::string::npos);
  EXPECT_NE(refusal(doc({{"client_secret", "s3cret"}})).find("secret"), std::string::npos);
  EXPECT_NE(refusal(doc({{"client_secret_expires_at", 0}})).find("secret"), std::string::npos);
  EXPECT_NE(refusal(doc({{"token_endpoint_auth_method", "client_secret_basic"}})).find("none"), std::string::npos);
  EXPECT_NE(refusal(doc({{"redirect_uris", json::array{}}})).find("redirect_uris"), std::string::npos);
  EXPECT_NE(refusal(doc({{"redirect_uris", "https://app.example.com/cb"}})).find("redirect_uris"), std::string::npos);
  EXPECT_NE(refusal(doc({{"redirect_uris", json::array{"javascript:alert(1)"}}})).find("scheme"), std::string::npos);
  EXPECT_NE(refusal(doc({{"redirect_uris", json::array{"http://evil.example.com/cb"}}})).find("loopback"),
            std::string::npos);
  EXPECT_NE(refusal(doc({{"grant_types", json::array{"client_credentials"}}})).find("grant_types"), std::string::npos);
  EXPECT_NE(refusal(doc({{"client_name", std::string(300, 'n')}})).find("client_name"), std::string::npos);
  json::array many;
  for (int i = 0; i < 11; ++i) many.emplace_back("http://127.0.0.1:" + std::to_string(3000 + i) + "/cb");
  EXPECT_NE(refusal(doc({{"redirect_uris", many}})).find("at most"), std::string::npos);
}
