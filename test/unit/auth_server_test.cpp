// The authorization server's request validation and the whole code flow, with a fake
// upstream provider and the memory store.
#include "auth/consent.hpp"
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
    ++authorize_urls;
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
  boost::asio::awaitable<UpstreamTokens> verify_id_token(std::string token, std::vector<std::string> auds) override {
    ++verified;
    if (token != "head.claims.sig" || auds != std::vector<std::string>{"muster"})
      mk::fail(mk::Errc::unauthorized, "ID token signature invalid");
    co_return UpstreamTokens{token, "", 4102444800, {"sub-sso", "sso@example.com", {"mcp-admins"}}};
  }
  boost::asio::awaitable<std::string> check() override { co_return ""; }
  int verified = 0;
  std::int64_t expires = 4102444800;  // 2100
  int refreshes = 0;
  int authorize_urls = 0;  // browsers sent upstream
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
    rebuild([](AuthConfig&) {});
  }
  // A new server (and store) with the test's settings changed by `change`.
  void rebuild(const std::function<void(AuthConfig&)>& change) {
    AuthConfig cfg;
    cfg.base_url = "http://127.0.0.1:9000";
    cfg.registration_token = "reg-secret";
    cfg.downstream = true;
    cfg.max_clients_per_ip = 3;
    change(cfg);
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
  // The browser's cookies: what Set-Cookie gave it, sent back on every request.
  std::string cookie_header() const {
    std::string h;
    for (auto& [k, v] : jar) h += (h.empty() ? "" : "; ") + k + "=" + v;
    return h;
  }
  void keep_cookies(const HttpReply& r) {
    for (auto& [k, v] : r.headers)
      if (k == "Set-Cookie") {
        auto eq = v.find('='), semi = v.find(';');
        jar[v.substr(0, eq)] = v.substr(eq + 1, semi - eq - 1);
      }
  }
  HttpReply authorize(std::vector<std::pair<std::string, std::string>> kv) {
    HttpRequest r{"GET", "/oauth/authorize", form_encode(kv), "", "", "", ""};
    r.cookie = cookie_header();
    auto a = call(std::move(r));
    keep_cookies(a);
    return a;
  }
  static std::string csrf_of(const HttpReply& page) {
    const std::string marker = "name=\"csrf_token\" value=\"";
    auto at = page.body.find(marker);
    if (at == std::string::npos) return "";
    at += marker.size();
    return page.body.substr(at, page.body.find('"', at) - at);
  }
  HttpReply answer(const std::string& csrf, const std::string& decision, const std::string& cookie) {
    HttpRequest r{"POST",
                  "/oauth/consent",
                  "",
                  "",
                  "application/x-www-form-urlencoded",
                  form_encode({{"csrf_token", csrf}, {"decision", decision}}),
                  ""};
    r.cookie = cookie;
    auto a = call(std::move(r));
    keep_cookies(a);
    return a;
  }
  // authorize, through our consent page when this browser has not approved the client yet:
  // the redirect to the provider.
  HttpReply to_provider(const std::string& client) {
    auto a = authorize(authz(client));
    if (a.status == 200) {
      EXPECT_NE(csrf_of(a), "") << a.body;
      a = answer(csrf_of(a), "approve", cookie_header());
      EXPECT_EQ(a.status, 303u) << a.body;
    }
    return a;
  }
  // authorize -> provider -> callback: our code for the client.
  std::string sign_in(const std::string& client) {
    auto a = to_provider(client);
    EXPECT_TRUE(header(a, "Location").starts_with("https://idp.test/")) << a.body;
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
  std::map<std::string, std::string> jar;
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
  auto a = to_provider(client);
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
    ASSERT_TRUE(a.status == 200u || a.status == 302u) << a.status;
    if (param(header(a, "Location"), "error") == "temporarily_unavailable") ++refused;
  }
  EXPECT_EQ(refused, 1);
  auto other = call({"GET", "/oauth/authorize", form_encode(authz(client)), "", "", "", "10.0.0.9"});
  EXPECT_EQ(other.status, 200u);  // the consent page
}

// --- our consent page (confused deputy) ---

TEST_F(AuthServerTest, WithoutConsentCookieTheConsentPageIsShownAndNothingGoesUpstream) {
  json::object doc{{"redirect_uris", json::array{"http://127.0.0.1:7777/cb"}},
                   {"token_endpoint_auth_method", "none"},
                   {"client_name", "<script>alert('x')</script> & Co"}};
  auto reg = call({"POST", "/oauth/register", "", "Bearer reg-secret", "application/json", json::serialize(doc), ""});
  auto client = std::string(body(reg)["client_id"].as_string());
  auto kv = authz(client);
  kv.emplace_back("scope", "mcp:tools <b>");
  auto page = authorize(kv);
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(page, "X-Frame-Options"), "DENY");
  EXPECT_NE(header(page, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(header(page, "Cache-Control"), "no-store");
  EXPECT_NE(page.body.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co"), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("mcp:tools &lt;b&gt;"), std::string::npos);
  EXPECT_NE(page.body.find("127.0.0.1:7777"), std::string::npos);  // where the answer goes
  EXPECT_NE(page.body.find(client), std::string::npos);
  EXPECT_NE(csrf_of(page), "");
  // The browser-binding cookie: HttpOnly, SameSite=Lax; over http no Secure and no __Host-.
  auto sc = header(page, "Set-Cookie");
  EXPECT_TRUE(sc.starts_with("mcpk-browser=")) << sc;
  EXPECT_NE(sc.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(sc.find("; SameSite=Lax"), std::string::npos);
  EXPECT_NE(sc.find("; Path=/"), std::string::npos);
  EXPECT_EQ(sc.find("Secure"), std::string::npos);
  EXPECT_EQ(provider->authorize_urls, 0);  // no state upstream before the answer
}

TEST_F(AuthServerTest, ApprovalSetsAConsentCookieThatSkipsThePageForThatClient) {
  auto client = register_client();
  auto a = to_provider(client);
  EXPECT_EQ(provider->authorize_urls, 1);
  auto sc = header(a, "Set-Cookie");
  EXPECT_TRUE(sc.starts_with(consent_cookie_name(server->config(), client) + "=")) << sc;
  EXPECT_NE(sc.find("; HttpOnly; SameSite=Lax"), std::string::npos);
  auto again = authorize(authz(client));
  EXPECT_EQ(again.status, 302u);
  EXPECT_TRUE(header(again, "Location").starts_with("https://idp.test/"));
  EXPECT_EQ(provider->authorize_urls, 2);
}

TEST_F(AuthServerTest, DenyGoesBackToTheClientWithAccessDenied) {
  auto client = register_client();
  auto page = authorize(authz(client));
  ASSERT_EQ(page.status, 200u);
  auto r = answer(csrf_of(page), "deny", cookie_header());
  EXPECT_EQ(r.status, 303u);
  auto loc = header(r, "Location");
  EXPECT_TRUE(loc.starts_with("http://127.0.0.1:7777/cb?")) << loc;
  EXPECT_EQ(param(loc, "error"), "access_denied");
  EXPECT_EQ(param(loc, "state"), "st-1");
  EXPECT_EQ(param(loc, "iss"), "http://127.0.0.1:9000");
  EXPECT_EQ(header(r, "Set-Cookie"), "");  // nothing remembered
  EXPECT_EQ(provider->authorize_urls, 0);
  EXPECT_EQ(authorize(authz(client)).status, 200u);  // asked again
}

TEST_F(AuthServerTest, ConsentToOneClientDoesNotCoverAnother) {
  auto a = register_client(), b = register_client();
  to_provider(a);
  EXPECT_EQ(authorize(authz(a)).status, 302u);
  EXPECT_EQ(authorize(authz(b)).status, 200u);
  // A's cookie value under B's cookie name: its MAC names A.
  jar[consent_cookie_name(server->config(), b)] = jar[consent_cookie_name(server->config(), a)];
  EXPECT_EQ(authorize(authz(b)).status, 200u);
}

TEST_F(AuthServerTest, ForgedOrExpiredConsentCookiesAreRefused) {
  auto client = register_client();
  auto name = consent_cookie_name(server->config(), client);
  auto key = Sealer(std::string(32, 's')).derive("mcp-kubernetes consent cookie v1");
  auto future = unix_now() + 3600;
  jar[name] = consent_cookie_value(key, client, future);
  EXPECT_EQ(authorize(authz(client)).status, 302u);  // the genuine article (proves the key used below)
  jar[name] = consent_cookie_value(key, client, unix_now() - 1);
  EXPECT_EQ(authorize(authz(client)).status, 200u) << "expired";
  jar[name] = consent_cookie_value(std::string(32, 'k'), client, future);
  EXPECT_EQ(authorize(authz(client)).status, 200u) << "another key";
  auto v = consent_cookie_value(key, client, future);
  jar[name] = std::to_string(future + 86400) + v.substr(v.find('.'));
  EXPECT_EQ(authorize(authz(client)).status, 200u) << "expiry moved";
  for (auto bad : {"", ".", "x.y", "99999999999999999999999.abc", "1.", ".abc"}) {
    jar[name] = bad;
    EXPECT_EQ(authorize(authz(client)).status, 200u) << bad;
  }
}

TEST_F(AuthServerTest, ConsentTokenIsOneTimeAndBoundToTheBrowser) {
  auto client = register_client();
  auto page = authorize(authz(client));
  auto csrf = csrf_of(page);
  auto browser = cookie_header();
  // From a browser without (or with another) binding cookie: refused, and the token is spent.
  auto other = answer(csrf, "approve", "mcpk-browser=" + random_token(32));
  EXPECT_EQ(other.status, 403u);
  EXPECT_EQ(body(other)["error"], "access_denied");
  EXPECT_EQ(answer(csrf, "approve", browser).status, 400u);
  EXPECT_EQ(provider->authorize_urls, 0);
  // Replay of an answered token.
  auto page2 = authorize(authz(client));
  auto csrf2 = csrf_of(page2);
  EXPECT_EQ(answer(csrf2, "approve", cookie_header()).status, 303u);
  auto replay = answer(csrf2, "approve", cookie_header());
  EXPECT_EQ(replay.status, 400u);
  EXPECT_EQ(body(replay)["error"], "invalid_request");
  EXPECT_EQ(provider->authorize_urls, 1);
  EXPECT_EQ(answer("made-up", "approve", cookie_header()).status, 400u);
  EXPECT_EQ(answer(csrf2, "maybe", cookie_header()).status, 400u);
  EXPECT_EQ(call({"GET", "/oauth/consent", "", "", "", "", ""}).status, 405u);
}

TEST(Consent, CookiesOverHttpsUseTheHostPrefixAndSecure) {
  AuthConfig cfg;
  cfg.base_url = "https://mcp.example.com";
  EXPECT_TRUE(consent_cookie_name(cfg, "c1").starts_with("__Host-mcpk-consent-"));
  EXPECT_EQ(browser_cookie_name(cfg), "__Host-mcpk-browser");
  auto sc = set_cookie(cfg, browser_cookie_name(cfg), "v", 60);
  EXPECT_EQ(sc, "__Host-mcpk-browser=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
  EXPECT_NE(consent_cookie_name(cfg, "c1"), consent_cookie_name(cfg, "c2"));
}

TEST(Consent, CookieHeaderParsing) {
  auto c = parse_cookies(" a=1; b = \"two\" ;c=;=x; junk; a=3");
  EXPECT_EQ(c["a"], "1");
  EXPECT_EQ(c["b"], "two");
  EXPECT_EQ(c["c"], "");
  EXPECT_FALSE(c.contains(""));
  std::string many;
  for (int i = 0; i < 200; ++i) many += "k" + std::to_string(i) + "=v; ";
  EXPECT_EQ(parse_cookies(many).size(), 64u);
}

// --- SSO token forwarding (--oauth-trusted-audiences) ---

TEST_F(AuthServerTest, ForwardedIdTokensOnlyWhenTrustedAudiencesAreSet) {
  auto off = run(io, server->authenticate("Bearer head.claims.sig"));
  EXPECT_FALSE(off.identity);
  EXPECT_EQ(provider->verified, 0);  // not even looked at
  rebuild([](AuthConfig& c) { c.trusted_audiences = {"muster"}; });
  auto on = run(io, server->authenticate("Bearer head.claims.sig"));
  ASSERT_TRUE(on.identity);
  EXPECT_EQ(on.identity->subject, "sub-sso");
  EXPECT_EQ(on.identity->email, "sso@example.com");
  EXPECT_EQ(on.identity->upstream_token, "head.claims.sig");  // downstream: the token itself
  auto bad = run(io, server->authenticate("Bearer head.claims.forged"));
  EXPECT_FALSE(bad.identity);
  EXPECT_EQ(bad.challenge.status, 401u);
  EXPECT_NE(header(bad.challenge, "WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
  EXPECT_NE(bad.challenge.body.find("signature invalid"), std::string::npos);
  // Our own opaque tokens still work beside it.
  auto client = register_client();
  auto t = tokens_for(client);
  auto ours = run(io, server->authenticate("Bearer " + std::string(t["access_token"].as_string())));
  ASSERT_TRUE(ours.identity);
  EXPECT_EQ(ours.identity->subject, "sub-v");
}

TEST_F(AuthServerTest, ForwardedTokenWithoutDownstreamCarriesNoUpstreamToken) {
  rebuild([](AuthConfig& c) {
    c.trusted_audiences = {"muster"};
    c.downstream = false;
  });
  auto on = run(io, server->authenticate("Bearer head.claims.sig"));
  ASSERT_TRUE(on.identity);
  EXPECT_EQ(on.identity->upstream_token, "");
}

// --- per-user rate limits ---

TEST_F(AuthServerTest, McpRequestsAreLimitedPerUserNotPerToken) {
  rebuild([](AuthConfig& c) {
    c.user_requests_per_second = 0.001;  // no refill within the test
    c.user_request_burst = 3;
  });
  auto client = register_client();
  auto t1 = std::string(tokens_for(client)["access_token"].as_string());
  auto t2 = std::string(tokens_for(client)["access_token"].as_string());  // the same user, another sign-in
  EXPECT_TRUE(run(io, server->authenticate("Bearer " + t1)).identity);
  EXPECT_TRUE(run(io, server->authenticate("Bearer " + t2)).identity);
  EXPECT_TRUE(run(io, server->authenticate("Bearer " + t1)).identity);
  auto over = run(io, server->authenticate("Bearer " + t2));
  EXPECT_FALSE(over.identity);
  EXPECT_EQ(over.challenge.status, 429u);
  EXPECT_EQ(body(over.challenge)["error"], "too_many_requests");
  EXPECT_NE(header(over.challenge, "Retry-After"), "");
}

TEST_F(AuthServerTest, TokenEndpointIsLimitedPerUserWithoutConsumingTheToken) {
  rebuild([](AuthConfig& c) { c.token_requests_per_user_per_minute = 3; });
  auto client = register_client();
  auto t = tokens_for(client);  // 1
  auto refresh = [&](const std::string& rt) {
    return post_form("/oauth/token", {{"grant_type", "refresh_token"}, {"refresh_token", rt}, {"client_id", client}});
  };
  auto r2 = refresh(std::string(t["refresh_token"].as_string()));  // 2
  ASSERT_EQ(r2.status, 200u);
  auto rt2 = std::string(body(r2)["refresh_token"].as_string());
  auto r3 = refresh(rt2);  // 3
  ASSERT_EQ(r3.status, 200u);
  auto rt3 = std::string(body(r3)["refresh_token"].as_string());
  auto over = refresh(rt3);  // 4: refused
  EXPECT_EQ(over.status, 429u);
  EXPECT_EQ(body(over)["error"], "too_many_requests");
  EXPECT_EQ(header(over, "Retry-After"), "60");
  // rt3 was not consumed: no reuse detection, the family lives (its access token still works).
  auto access = std::string(body(r3)["access_token"].as_string());
  EXPECT_TRUE(run(io, server->authenticate("Bearer " + access)).identity);
  // Unknown tokens are not counted against anyone (no subject), but still per address.
  EXPECT_EQ(refresh("made-up").status, 400u);
}

TEST_F(AuthServerTest, TokenEndpointIsLimitedPerAddress) {
  rebuild([](AuthConfig& c) { c.token_requests_per_ip_per_minute = 2; });
  auto client = register_client();
  auto bad = [&] {
    return post_form("/oauth/token", {{"grant_type", "refresh_token"}, {"refresh_token", "x"}, {"client_id", client}});
  };
  EXPECT_EQ(bad().status, 400u);
  EXPECT_EQ(bad().status, 400u);
  EXPECT_EQ(bad().status, 429u);
}

TEST(RateLimiter, BucketRefillsAndStaysBounded) {
  RateLimiter l(1, 2, 3);
  auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(l.allow("u", t0));
  EXPECT_TRUE(l.allow("u", t0));
  EXPECT_FALSE(l.allow("u", t0));
  EXPECT_TRUE(l.allow("v", t0));  // another user has their own bucket
  EXPECT_TRUE(l.allow("u", t0 + std::chrono::seconds(1)));
  EXPECT_FALSE(l.allow("u", t0 + std::chrono::seconds(1)));
  for (int i = 0; i < 10; ++i) l.allow("k" + std::to_string(i), t0 + std::chrono::seconds(2));
  EXPECT_LE(l.size(), 3u);
  RateLimiter off(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.allow("u", t0));
}

// A client id URL makes us fetch a caller-chosen URL: per address, bounded before any fetch
// (here the URLs are refused before fetching, so no network is needed).
TEST_F(AuthServerTest, MetadataDocumentRequestsAreLimitedPerAddress) {
  rebuild([](AuthConfig& c) {
    c.cimd = true;
    c.cimd_requests_per_ip_per_minute = 3;
  });
  auto kv = authz("http://app.example.com/client.json");
  for (int i = 0; i < 3; ++i) {
    auto r = authorize(kv);
    EXPECT_EQ(r.status, 400u);
    EXPECT_NE(body(r)["error_description"].as_string().find("https"), std::string::npos) << r.body;
  }
  auto over = authorize(kv);
  EXPECT_EQ(over.status, 429u);
  EXPECT_EQ(body(over)["error"], "too_many_requests");
  // Registered clients are not counted.
  auto client = register_client();
  EXPECT_EQ(authorize(authz(client)).status, 200u);
}

// The other endpoints that look a client up take the same budget (before this, /oauth/token,
// /oauth/revoke and /oauth/introspect fetched any URL client id without a limit), and the one
// that needs a confidential client refuses a URL before anything is fetched or counted.
TEST_F(AuthServerTest, MetadataDocumentLookupsAreLimitedOnEveryEndpoint) {
  rebuild([](AuthConfig& c) {
    c.cimd = true;
    c.cimd_requests_per_ip_per_minute = 2;
  });
  const std::string url = "http://app.example.com/client.json";
  for (int i = 0; i < 3; ++i) {
    auto r = post_form("/oauth/introspect", {{"client_id", url}, {"token", "x"}});
    EXPECT_EQ(r.status, 401u) << r.body;
    EXPECT_EQ(body(r)["error"], "invalid_client");
  }
  EXPECT_NE(post_form("/oauth/revoke", {{"client_id", url}, {"token", "x"}}).status, 429u);
  EXPECT_NE(
      post_form("/oauth/token", {{"client_id", url}, {"grant_type", "refresh_token"}, {"refresh_token", "x"}}).status,
      429u);
  auto over = post_form("/oauth/revoke", {{"client_id", url}, {"token", "x"}});
  EXPECT_EQ(over.status, 429u) << over.body;
  EXPECT_EQ(body(over)["error"], "too_many_requests");
  EXPECT_EQ(authorize(authz(url)).status, 429u);  // one budget for every endpoint
}
