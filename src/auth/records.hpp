#pragma once
// What the authorization server keeps in the Store, as JSON values. Keys (kept here so the
// layout is in one place): secrets are part of a key only as sha256_b64url, never in clear.
//   client:<client_id>            ClientRecord            (registration)
//   consent:<hash(csrf token)>    ConsentRecord           (consent page -> its answer, flow_ttl, taken once)
//   flow:<hash(upstream state)>   FlowRecord              (authorize -> callback, flow_ttl)
//   code:<hash(code)>             CodeRecord              (callback -> token, code_ttl)
//   code-used:<hash(code)>        family id               (reuse of a code revokes its family)
//   grant:<family>                Grant                   (one sign-in; gone = revoked)
//   at:<hash(access token)>       AccessRecord            (access_ttl)
//   rt:<hash(refresh token)>      RefreshRecord           (refresh_ttl)
//   rt-used:<hash(refresh token)> family id               (replay of a rotated token revokes the family)
//   reg-ip:<address>              counter                 (registrations per address per window)
//   authz-ip:<address>            counter                 (sign-ins started per address per flow_ttl)
//   cimd-ip:<address>             counter                 (authorizations naming a CIMD URL, per minute)
//   tok-ip:<address>, tok-user:<hash(subject)>  counters  (token requests per minute)
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mk::auth {

struct ClientRecord {
  std::string client_id;
  std::string secret_hash;  // "" => public client (token_endpoint_auth_method none)
  std::string auth_method = "none";
  std::vector<std::string> redirect_uris;
  std::string name;
  std::int64_t created = 0;
  bool is_public() const { return secret_hash.empty(); }
};

struct UserInfo {
  std::string subject, email;
  std::vector<std::string> groups;
  std::optional<bool> email_verified;  // the ID token's claim; nullopt when it has none
};

// The upstream provider's tokens, sealed (auth::Sealer) so a store dump reveals none.
struct UpstreamSealed {
  std::string id_token;         // sealed
  std::string refresh_token;    // sealed; "" when the provider gave none
  std::int64_t id_expires = 0;  // unix seconds
};

struct FlowRecord {
  std::string client_id, redirect_uri, state, code_challenge, resource, scope;
  std::string nonce, upstream_verifier;  // ours, towards the provider
};

// An authorization request waiting for the user's answer on our consent page; `browser` is the
// hash of the browser-binding cookie set with the page (the answer must come from that browser).
struct ConsentRecord {
  FlowRecord flow;
  std::string browser;
};

struct CodeRecord {
  std::string client_id, redirect_uri, code_challenge, resource, scope;
  UserInfo user;
  UpstreamSealed upstream;
};

struct Grant {
  std::string family, client_id, resource, scope;
  UserInfo user;
  UpstreamSealed upstream;
  std::int64_t created = 0;
};

struct AccessRecord {
  std::string family, client_id;
  std::int64_t expires = 0;
};

struct RefreshRecord {
  std::string family, client_id;
};

boost::json::object to_json(const ClientRecord&);
boost::json::object to_json(const FlowRecord&);
boost::json::object to_json(const ConsentRecord&);
boost::json::object to_json(const CodeRecord&);
boost::json::object to_json(const Grant&);
boost::json::object to_json(const AccessRecord&);
boost::json::object to_json(const RefreshRecord&);

// Parsing what we wrote; a corrupt record throws Errc::internal.
template <class T>
T from_json(const std::string& text);
template <>
ClientRecord from_json<ClientRecord>(const std::string&);
template <>
FlowRecord from_json<FlowRecord>(const std::string&);
template <>
ConsentRecord from_json<ConsentRecord>(const std::string&);
template <>
CodeRecord from_json<CodeRecord>(const std::string&);
template <>
Grant from_json<Grant>(const std::string&);
template <>
AccessRecord from_json<AccessRecord>(const std::string&);
template <>
RefreshRecord from_json<RefreshRecord>(const std::string&);

std::int64_t unix_now();

}  // namespace mk::auth
