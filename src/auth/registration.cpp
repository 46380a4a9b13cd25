// RFC 7591 dynamic client registration.
#include "auth/oauth_error.hpp"
#include "auth/redirect_uri.hpp"
#include "auth/server.hpp"
#include "instrumentation/metrics.hpp"
#include "util/log.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace mk::auth {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
std::vector<std::string> string_list(const json::object& o, std::string_view k, std::size_t max) {
  std::vector<std::string> out;
  auto* v = o.if_contains(k);
  if (!v) return out;
  if (!v->is_array()) oauth_fail(400, "invalid_client_metadata", fmt::format("{} must be an array", k));
  if (v->as_array().size() > max) oauth_fail(400, "invalid_client_metadata", fmt::format("{}: at most {}", k, max));
  for (auto& e : v->as_array()) {
    if (!e.is_string()) oauth_fail(400, "invalid_client_metadata", fmt::format("{} must hold strings", k));
    out.emplace_back(e.as_string());
  }
  return out;
}
std::string string_field(const json::object& o, std::string_view k, std::size_t max) {
  auto* v = o.if_contains(k);
  if (!v) return {};
  if (!v->is_string() || v->as_string().size() > max)
    oauth_fail(400, "invalid_client_metadata", fmt::format("{} must be a string of at most {} bytes", k, max));
  return std::string(v->as_string());
}
bool bearer_matches(const std::string& authorization, const std::string& token) {
  if (token.empty() || authorization.size() < 7) return false;
  std::string scheme = authorization.substr(0, 7);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  return scheme == "bearer " && constant_time_equal(authorization.substr(7), token);
}
}  // namespace

asio::awaitable<HttpReply> AuthServer::register_client(const HttpRequest& req) {
  if (req.content_type.find("application/json") == std::string::npos)
    bad_request("Content-Type must be application/json");
  boost::system::error_code ec;
  auto doc = json::parse(req.body, ec);
  if (ec || !doc.is_object()) oauth_fail(400, "invalid_client_metadata", "the body must be a JSON object");
  auto& o = doc.as_object();

  auto uris = string_list(o, "redirect_uris", cfg_.max_redirect_uris);
  if (uris.empty()) oauth_fail(400, "invalid_redirect_uri", "redirect_uris is required");
  bool all_trusted_scheme = true;
  for (auto& u : uris) {
    auto why = check_redirect_uri(u, cfg_.max_uri_bytes);
    if (!why.empty()) oauth_fail(400, "invalid_redirect_uri", why);
    auto scheme = u.substr(0, u.find(':'));
    if (std::find(cfg_.trusted_schemes.begin(), cfg_.trusted_schemes.end(), scheme) == cfg_.trusted_schemes.end())
      all_trusted_scheme = false;
  }
  for (auto& g : string_list(o, "grant_types", 8))
    if (g != "authorization_code" && g != "refresh_token")
      oauth_fail(400, "invalid_client_metadata", "grant_types: only authorization_code and refresh_token");
  for (auto& r : string_list(o, "response_types", 4))
    if (r != "code") oauth_fail(400, "invalid_client_metadata", "response_types: only code");
  auto method = string_field(o, "token_endpoint_auth_method", 64);
  if (method.empty()) method = "client_secret_basic";  // RFC 7591 §2 default
  if (method != "none" && method != "client_secret_basic" && method != "client_secret_post")
    oauth_fail(400, "invalid_client_metadata",
               "token_endpoint_auth_method: none, client_secret_basic or client_secret_post");
  auto name = string_field(o, "client_name", 256);

  // Who may register: the registration token, anyone when public registration is allowed, or
  // a native app whose redirect URIs all use a trusted custom scheme.
  bool allowed = bearer_matches(req.authorization, cfg_.registration_token.get()) || cfg_.allow_public_registration ||
                 (!cfg_.trusted_schemes.empty() && all_trusted_scheme);
  if (!allowed) {
    auto why = req.authorization.empty() ? "registration requires a registration access token (Bearer)"
                                         : "the registration access token is not valid";
    auto e = OAuthError(401, "invalid_token", why);
    count_rejection("register", "invalid_token");
    auto r = error_reply(e);
    r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    co_return r;
  }
  // Per address, and each registration expires (client_ttl): the store stays bounded.
  auto n = co_await store_->incr("reg-ip:" + req.peer, std::chrono::duration_cast<Ttl>(cfg_.registration_window));
  if (n > static_cast<std::int64_t>(cfg_.max_clients_per_ip)) {
    auto r =
        error_reply(OAuthError(429, "too_many_requests", "too many client registrations from this address; try later"));
    r.headers.emplace_back("Retry-After", std::to_string(cfg_.registration_window.count()));
    count_rejection("register", "rate_limited");
    co_return r;
  }

  ClientRecord c;
  c.client_id = random_token(16);
  c.auth_method = method;
  c.redirect_uris = uris;
  c.name = name;
  c.created = unix_now();
  std::string secret;
  if (method != "none") {
    secret = random_token(32);
    c.secret_hash = sha256_b64url(secret);
  }
  auto client_key = "client:" + c.client_id;
  auto client_doc = json::serialize(to_json(c));
  co_await store_->put(std::move(client_key), std::move(client_doc), std::chrono::duration_cast<Ttl>(cfg_.client_ttl));
  metrics::Registry::global().inc("oauth_client_registered_total", {});
  log::info("oauth audit: client registered client={} public={} from={}", c.client_id, c.is_public(), req.peer);

  json::object out{{"client_id", c.client_id},
                   {"client_id_issued_at", c.created},
                   {"redirect_uris", json::array(uris.begin(), uris.end())},
                   {"token_endpoint_auth_method", method},
                   {"grant_types", json::array{"authorization_code", "refresh_token"}},
                   {"response_types", json::array{"code"}}};
  if (!name.empty()) out["client_name"] = name;
  if (!secret.empty()) {
    out["client_secret"] = secret;
    out["client_secret_expires_at"] = 0;
  }
  co_return json_reply(201, out);
}

asio::awaitable<std::optional<ClientRecord>> AuthServer::find_client(const std::string& client_id) {
  // A URL names a metadata document (never a registered client: ours are random tokens).
  if (cimd_ && looks_like_url(client_id)) {
    auto c = co_await cimd_->resolve(client_id);
    co_return c;
  }
  if (client_id.empty() || client_id.size() > 128) co_return std::nullopt;
  auto v = co_await store_->get("client:" + client_id);
  if (!v) co_return std::nullopt;
  co_return from_json<ClientRecord>(*v);
}

}  // namespace mk::auth
