#pragma once
// This MCP server's own OAuth 2.1 authorization server, fronting an upstream OpenID provider
// (Dex, Google), and the protected-resource side of the MCP endpoint:
//   /.well-known/oauth-protected-resource[<endpoint>]  RFC 9728      metadata.cpp
//   /.well-known/oauth-authorization-server            RFC 8414      metadata.cpp
//   /oauth/register                                    RFC 7591      registration.cpp
//   /oauth/authorize, /oauth/consent, /oauth/callback  code + PKCE, our consent page   authorize.cpp, consent.cpp
//   /oauth/token, /oauth/revoke, /oauth/introspect     6749/7009/7662 token_endpoint.cpp
//   authenticate(): the MCP endpoint's bearer check     RFC 6750      resource.cpp
// Requests are validated completely before anything is stored; errors are OAuthError
// (oauth_error.hpp). Audit lines name the subject and client id, never a token.
#include "auth/cimd.hpp"
#include "auth/config.hpp"
#include "auth/crypto.hpp"
#include "auth/http_types.hpp"
#include "auth/provider.hpp"
#include "auth/rate_limit.hpp"
#include "auth/store.hpp"
#include "auth/tokens.hpp"
#include "util/identity.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace mk::auth {

class AuthServer {
 public:
  AuthServer(boost::asio::any_io_executor ex, AuthConfig cfg, std::unique_ptr<Store> store, Sealer sealer,
             std::shared_ptr<Provider> provider);

  const AuthConfig& config() const { return cfg_; }
  // Whether `path` is one of ours (the transport routes it here, unauthenticated).
  bool handles(std::string_view path) const;
  boost::asio::awaitable<HttpReply> handle(HttpRequest req);

  // The MCP endpoint's check of `Authorization`. On success the caller's identity (with the
  // upstream ID token when downstream OAuth is on); otherwise `challenge` is the answer to
  // send (401, or 429 when the user is over their request rate).
  struct Result {
    std::optional<Identity> identity;
    HttpReply challenge;
  };
  boost::asio::awaitable<Result> authenticate(std::string authorization);
  // WWW-Authenticate for the MCP endpoint; `error` "" for a request without credentials.
  std::string challenge(std::string_view error, std::string_view description) const;
  std::string resource_metadata_url() const;

  boost::asio::awaitable<std::string> check();  // /readyz: store and provider
  Tokens& tokens() { return tokens_; }
  Store& store() { return *store_; }

 private:
  HttpReply protected_resource_metadata() const;
  HttpReply authorization_server_metadata() const;
  boost::asio::awaitable<HttpReply> register_client(const HttpRequest& req);
  boost::asio::awaitable<HttpReply> authorize(const HttpRequest& req);
  boost::asio::awaitable<HttpReply> consent(const HttpRequest& req);
  boost::asio::awaitable<HttpReply> start_upstream(FlowRecord f);
  boost::asio::awaitable<HttpReply> callback(const HttpRequest& req);
  boost::asio::awaitable<HttpReply> token(const HttpRequest& req);
  boost::asio::awaitable<HttpReply> revoke(const HttpRequest& req);
  boost::asio::awaitable<HttpReply> introspect(const HttpRequest& req);
  // Client authentication at the token, revocation and introspection endpoints: a public
  // client names itself (client_id), a confidential one proves its secret (Basic or post).
  // Throws OAuthError invalid_client (401).
  boost::asio::awaitable<ClientRecord> authenticate_client(const HttpRequest& req,
                                                           const std::map<std::string, std::string>& form,
                                                           bool require_secret);
  boost::asio::awaitable<std::optional<ClientRecord>> find_client(const std::string& client_id);
  // Downstream OAuth: renews the grant's upstream ID token when it is close to expiry.
  boost::asio::awaitable<std::optional<Grant>> fresh_upstream(Grant g);

  boost::asio::any_io_executor ex_;
  AuthConfig cfg_;
  std::unique_ptr<Store> store_;
  Sealer sealer_;
  std::shared_ptr<Provider> provider_;
  Tokens tokens_;
  // MACs consent cookies: derived from the sealing key (so it follows a key rotation).
  std::string consent_key() const { return sealer_.derive("mcp-kubernetes consent cookie v1"); }
  std::unique_ptr<CimdResolver> cimd_;  // null unless --enable-cimd
  RateLimiter user_limit_;              // MCP requests per subject
  std::set<std::string> refreshing_;    // families whose upstream refresh is in flight here
};

// Registers the oauth_* metric descriptions.
void describe_oauth_metrics();
// A rejected request, counted by a bounded reason.
void count_rejection(std::string_view endpoint, std::string_view reason);

}  // namespace mk::auth
