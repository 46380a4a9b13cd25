// The authorization server's request validation and the whole code flow, with a fake
// upstream provider and the memory store.
#include "auth/crypto.hpp"
#include "auth/http_types.hpp"
#include "auth/memory_store.hpp"
#include "auth/oauth_error.hpp"
#include "auth/server.hpp"
#include "auth_test_util.hpp"
#include "util/error.hpp"

#include "instrumentation/metrics.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <functional>

using namespace mk::auth;
using auth_test::run;
namespace json = boost::json;

namespace {

const std::string kVerifier = "client-verifier-0123456789-0123456789-0123456789";

class FakeProvider : public Provider {
 public:
  boost::asio::awaitable<std::string> authorize_url(std::string state, std::string nonce, std::string) override {
    co_return "https://idp.test/auth?" + form_encode({{"state", state}, {"nonce", nonce}});
  }
  boost::asio::awaitable<UpstreamTokens> exchange(std::string code, std::string, std::string) override {
    if (code != "good") mk::fail(mk::Errc::unauthorized, "identity provider refused: invalid_grant");
    co_return UpstreamTokens{"id-token-1", "up-refresh-1", expires, {"sub-v", "viewer@example.com", {"mcp-viewers"}}};
  }
  boost::asio::awaitable<UpstreamTokens> refresh(std::string rt) override {
    ++refreshes;
    if (during_refresh) co_await during_refresh();  // what other requests do while the provider answers
    if (rt != "up-refresh-1") mk::fail(mk::Errc::unauthorized, "identity provider refused: invalid_grant");
    co_return UpstreamTokens{
        "id-token-2", "up-refresh-1", 4102444800, {"sub-v", "viewer@example.com", {"mcp-viewers"}}};
  }
  boost::asio::awaitable<std::string> check() override { co_return ""; }
  std::int64_t expires = 4102444800;  // 2100
  int refreshes = 0;
  std::function<boost::asio::awaitable<void>()> during_refresh;
};

std::string param(const std::string& url, const std::string& name) {
  auto q = url.find('?');
  auto f = parse_form(q == std::string::npos ? "" : url.substr(q + 1));
  return f.contains(name) ? f[name] : "";
}
std::string header(const HttpReply& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

class AuthServerTest : public ::testing::Test {
 protected:
  AuthServerTest() {
    AuthConfig cfg;
    cfg.base_url = "http://127.0.0.1:9000";
    cfg.registration_token = "reg-secret";
    cfg.downstream = true;
    cfg.max_clients_per_ip = 3;
    provider = std::make_shared<FakeProvider>();
    server = std::make_unique<AuthServer>(io.get_executor(), cfg, make_memory_store(), Sealer(std::string(32, 's')),
                                          provider);
  }
  HttpReply call(HttpRequest r) {
    if (r.peer.empty()) r.peer = "10.0.0.1";
    return run(io, server->handle(std::move(r)));
  }
  HttpReply post_form(const std::string& path, std::vector<std::pair<std::string, std::string>> kv) {
    return call({"POST", path, "", "", "application/x-www-form-urlencoded", form_encode(kv), ""});
  }
  json::object body(const HttpReply& r) { return json::parse(r.body).as_object(); }
  std::string register_client(const std::string& auth_method = "none") {
    json::object doc{{"redirect_uris", json::array{"http://127.0.0.1:7777/cb"}},
                     {"token_endpoint_auth_method", auth_method}};
    auto r = call({"POST", "/oauth/register", "", "Bearer reg-secret", "application/json", json::serialize(doc), ""});
    EXPECT_EQ(r.status, 201u) << r.body;
    auto b = body(r);
    if (b.contains("client_secret")) secret = std::string(b["client_secret"].as_string());
    return std::string(b["client_id"].as_string());
  }
  std::vector<std::pair<std::string, std::string>> authz(const std::string& client) {
    return {{"response_type", "code"},
            {"client_id", client},
            {"redirect_uri", "http://127.0.0.1:7777/cb"},
            {"state", "st-1"},
            {"code_challenge", sha256_b64url(kVerifier)},
            {"code_challenge_method", "S256"},
            {"resource", "http://127.0.0.1:9000/mcp"}};
  }
  HttpReply authorize(std::vector<std::pair<std::string, std::string>> kv) {
    return call({"GET", "/oauth/authorize", form_encode(kv), "", "", "", ""});
  }
  // authorize -> provider -> callback: our code for the client.
  std::string sign_in(const std::string& client) {
    auto a = authorize(authz(client));
    EXPECT_EQ(a.status, 302u) << a.body;
    auto up_state = param(header(a, "Location"), "state");
    auto cb = call({"GET", "/oauth/callback", form_encode({{"state", up_state}, {"code", "good"}}), "", "", "", ""});
    EXPECT_EQ(cb.status, 302u) << cb.body;
    auto loc = header(cb, "Location");
    EXPECT_EQ(param(loc, "state"), "st-1");
    EXPECT_EQ(param(loc, "iss"), "http://127.0.0.1:9000");
    return param(loc, "code");
  }
  json::object tokens_for(const std::string& client) {
    auto code = sign_in(client);
    auto t = post_form("/oauth/token", {{"grant_type", "authorization_code"},
                                        {"code", code},
                                        {"client_id", client},
                                        {"redirect_uri", "http://127.0.0.1:7777/cb"},
                                        {"code_verifier", kVerifier}});
    EXPECT_EQ(t.status, 200u) << t.body;
    return body(t);
  }

  boost::asio::io_context io;
  std::shared_ptr<FakeProvider> provider;
  std::unique_ptr<AuthServer> server;
  std::string secret;
};

TEST(Form, DuplicateParameterIsInvalidRequest) {
  EXPECT_THROW(parse_form("a=1&a=2"), OAuthError);
  EXPECT_THROW(parse_form("a=%zz"), OAuthError);
  auto f = parse_form("a=x%20y&b=c+d&empty=");
  EXPECT_EQ(f["a"], "x y");
  EXPECT_EQ(f["b"], "c d");
  EXPECT_FALSE(f.contains("empty"));
}

TEST_F(AuthServerTest, Metadata) {
  auto prm = call({"GET", "/.well-known/oauth-protected-resource/mcp", "", "", "", "", ""});
  ASSERT_EQ(prm.status, 200u);
  EXPECT_EQ(body(prm)["resource"], "http://127.0.0.1:9000/mcp");
  auto root = call({"GET", "/.well-known/oauth-protected-resource", "", "", "", "", ""});
  EXPECT_EQ(root.body, prm.body);
  auto as = body(call({"GET", "/.well-known/oauth-authorization-server", "", "", "", "", ""}));
  EXPECT_EQ(as["issuer"], "http://127.0.0.1:9000");
  EXPECT_EQ(as["code_challenge_methods_supported"].as_array().at(0), "S256");
}

TEST_F(AuthServerTest, RegistrationNeedsTheTokenAndValidRedirects) {
  auto doc = R"({"redirect_uris":["http://127.0.0.1:7777/cb"]})";
  EXPECT_EQ(call({"POST", "/oauth/register", "", "", "application/json", doc, ""}).status, 401u);
  EXPECT_EQ(call({"POST", "/oauth/register", "", "Bearer wrong", "application/json", doc, ""}).status, 401u);
  auto bad = call({"POST", "/oauth/register", "", "Bearer reg-secret", "application/json",
                   R"({"redirect_uris":["http://evil.example/cb"]})", ""});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(body(bad)["error"], "invalid_redirect_uri");
  EXPECT_EQ(call({"POST", "/oauth/register", "", "Bearer reg-secret", "application/json",
                  R"J({"redirect_uris":["javascript:alert(1)"]})J", ""})
                .status,
            400u);
  EXPECT_EQ(call({"POST", "/oauth/register", "", "Bearer reg-secret", "application/json", "not json", ""}).status,
            400u);
}

TEST_F(AuthServerTest, RegistrationIsLimitedPerAddress) {
  for (int i = 0; i < 3; ++i) register_client();
  auto doc = R"({"redirect_uris":["http://127.0.0.1:7777/cb"]})";
  EXPECT_EQ(call({"POST", "/oauth/register", "", "Bearer reg-secret", "application/json", doc, ""}).status, 429u);
  EXPECT_EQ(call({"POST", "/oauth/register", "", "Bearer reg-secret", "application/json", doc, "10.0.0.2"}).status,
            201u);
}

TEST_F(AuthServerTest, OversizedBodyIsRefused) {
  auto r = call({"POST", "/oauth/token", "", "", "application/x-www-form-urlencoded", std::string(100000, 'a'), ""});
  EXPECT_EQ(r.status, 413u);
}

TEST_F(AuthServerTest, AuthorizeValidation) {
  auto client = register_client();
  auto with = [&](const std::string& k, const std::string& v) {
    auto kv = authz(client);
    for (auto& [a, b] : kv)
      if (a == k) b = v;
    return authorize(kv);
  };
  // Unknown client and foreign redirect URI: answered here, never redirected.
  EXPECT_EQ(with("client_id", "nope").status, 400u);
  auto foreign = with("redirect_uri", "http://127.0.0.1:7777/other");
  EXPECT_EQ(foreign.status, 400u);
  EXPECT_EQ(header(foreign, "Location"), "");
  // After that, errors go back to the client.
  auto no_state = with("state", "");
  EXPECT_EQ(no_state.status, 302u);
  EXPECT_EQ(param(header(no_state, "Location"), "error"), "invalid_request");
  EXPECT_EQ(param(header(with("code_challenge_method", "plain"), "Location"), "error"), "invalid_request");
  EXPECT_EQ(param(header(with("code_challenge", ""), "Location"), "error"), "invalid_request");
  EXPECT_EQ(param(header(with("resource", "https://other/mcp"), "Location"), "error"), "invalid_target");
  EXPECT_EQ(param(header(with("response_type", "token"), "Location"), "error"), "unsupported_response_type");
}

TEST_F(AuthServerTest, CallbackWithUnknownStateOrRefusedCode) {
  EXPECT_EQ(call({"GET", "/oauth/callback", "state=nope&code=good", "", "", "", ""}).status, 400u);
  auto client = register_client();
  auto a = authorize(authz(client));
  auto st = param(header(a, "Location"), "state");
  auto cb = call({"GET", "/oauth/callback", form_encode({{"state", st}, {"code", "bad"}}), "", "", "", ""});
  EXPECT_EQ(param(header(cb, "Location"), "error"), "access_denied");
  // The flow state is single-use.
  EXPECT_EQ(call({"GET", "/oauth/callback", form_encode({{"state", st}, {"code", "good"}}), "", "", "", ""}).status,
            400u);
}

TEST_F(AuthServerTest, FullFlowAuthenticatesWithUpstreamToken) {
  auto client = register_client();
  auto t = tokens_for(client);
  auto access = std::string(t["access_token"].as_string());
  auto res = run(io, server->authenticate("Bearer " + access));
  ASSERT_TRUE(res.identity);
  EXPECT_EQ(res.identity->subject, "sub-v");
  EXPECT_EQ(res.identity->groups, std::vector<std::string>{"mcp-viewers"});
  EXPECT_EQ(res.identity->upstream_token, "id-token-1");
  auto no = run(io, server->authenticate(""));
  EXPECT_FALSE(no.identity);
  EXPECT_EQ(no.challenge.status, 401u);
  EXPECT_EQ(header(no.challenge, "WWW-Authenticate"),
            "Bearer resource_metadata=\"http://127.0.0.1:9000/.well-known/oauth-protected-resource/mcp\"");
  auto bad = run(io, server->authenticate("Bearer nope"));
  EXPECT_NE(header(bad.challenge, "WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
}

TEST_F(AuthServerTest, UpstreamTokenRenewedNearExpiry) {
  provider->expires = mk::auth::unix_now() + 30;  // inside the renewal margin
  auto client = register_client();
  auto access = std::string(tokens_for(client)["access_token"].as_string());
  auto res = run(io, server->authenticate("Bearer " + access));
  ASSERT_TRUE(res.identity);
  EXPECT_EQ(res.identity->upstream_token, "id-token-2");
  EXPECT_EQ(provider->refreshes, 1);
  run(io, server->authenticate("Bearer " + access));
  EXPECT_EQ(provider->refreshes, 1);  // renewed once, then stored
}

TEST_F(AuthServerTest, TokenEndpointErrors) {
  auto client = register_client();
  auto code = sign_in(client);
  auto e = [&](std::vector<std::pair<std::string, std::string>> kv) {
    auto r = post_form("/oauth/token", kv);
    return std::to_string(r.status) + " " + std::string(body(r)["error"].as_string());
  };
  EXPECT_EQ(e({{"grant_type", "password"}, {"client_id", client}}), "400 unsupported_grant_type");
  EXPECT_EQ(e({{"grant_type", "authorization_code"}, {"client_id", "unknown"}, {"code", code}}), "401 invalid_client");
  EXPECT_EQ(e({{"grant_type", "authorization_code"},
               {"client_id", client},
               {"code", code},
               {"redirect_uri", "http://127.0.0.1:7777/cb"},
               {"code_verifier", kVerifier + "x"}}),
            "400 invalid_grant");
  EXPECT_EQ(e({{"grant_type", "refresh_token"}, {"client_id", client}, {"refresh_token", "nope"}}),
            "400 invalid_grant");
}

TEST_F(AuthServerTest, IntrospectNeedsAConfidentialClient) {
  auto pub = register_client();
  auto conf = register_client("client_secret_post");
  auto t = tokens_for(pub);
  auto access = std::string(t["access_token"].as_string());
  EXPECT_EQ(post_form("/oauth/introspect", {{"token", access}, {"client_id", pub}}).status, 401u);
  auto r = post_form("/oauth/introspect", {{"token", access}, {"client_id", conf}, {"client_secret", secret}});
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(body(r)["active"], true);
  EXPECT_EQ(body(r)["sub"], "sub-v");
  EXPECT_EQ(post_form("/oauth/revoke", {{"token", access}, {"client_id", pub}}).status, 200u);
  r = post_form("/oauth/introspect", {{"token", access}, {"client_id", conf}, {"client_secret", secret}});
  EXPECT_EQ(body(r)["active"], false);
}

}  // namespace

// The family is revoked while the provider renews its upstream token: the renewal must not
// write the grant back (that would revive every token of the revoked family).
TEST_F(AuthServerTest, RevocationDuringUpstreamRenewalSticks) {
  provider->expires = mk::auth::unix_now() + 30;  // inside the renewal margin
  auto client = register_client();
  auto t = tokens_for(client);
  auto access = std::string(t["access_token"].as_string());
  auto refresh = std::string(t["refresh_token"].as_string());
  // (Not reset from inside: that would destroy the running coroutine's closure.)
  provider->during_refresh = [&]() -> boost::asio::awaitable<void> {
    HttpRequest rv{"POST",
                   "/oauth/revoke",
                   "",
                   "",
                   "application/x-www-form-urlencoded",
                   form_encode({{"token", refresh}, {"client_id", client}}),
                   "10.0.0.1"};
    auto r = co_await server->handle(std::move(rv));
    EXPECT_EQ(r.status, 200u) << r.body;
  };
  auto during = run(io, server->authenticate("Bearer " + access));
  EXPECT_FALSE(during.identity);
  EXPECT_EQ(provider->refreshes, 1);
  auto after = run(io, server->authenticate("Bearer " + access));
  EXPECT_FALSE(after.identity);
  EXPECT_EQ(after.challenge.status, 401u);
}

// Unknown OAuth paths are counted under one label, never under the caller's path.
TEST_F(AuthServerTest, RejectionLabelsAreBounded) {
  auto r = call({"GET", "/oauth/zz-made-up-path", "", "", "", "", ""});
  EXPECT_EQ(r.status, 404u);
  auto text = mk::metrics::Registry::global().render();
  EXPECT_EQ(text.find("zz-made-up"), std::string::npos);
  EXPECT_NE(text.find("endpoint=\"other\""), std::string::npos);
}

// Each started sign-in stores a flow record: one address cannot start them without limit.
TEST_F(AuthServerTest, SignInsStartedAreLimitedPerAddress) {
  auto client = register_client();
  int refused = 0;
  for (int i = 0; i < 121; ++i) {
    auto a = authorize(authz(client));
    ASSERT_EQ(a.status, 302u);
    if (param(header(a, "Location"), "error") == "temporarily_unavailable") ++refused;
  }
  EXPECT_EQ(refused, 1);
  auto other = call({"GET", "/oauth/authorize", form_encode(authz(client)), "", "", "", "10.0.0.9"});
  EXPECT_EQ(param(header(other, "Location"), "error"), "");
}
