#include "auth/records.hpp"

#include "util/error.hpp"

#include <boost/json.hpp>

#include <chrono>

namespace mk::auth {
namespace json = boost::json;

namespace {
std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
std::int64_t num(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : 0;
}
std::vector<std::string> strs(const json::object& o, std::string_view k) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(k); v && v->is_array())
    for (auto& e : v->as_array())
      if (e.is_string()) out.emplace_back(e.as_string());
  return out;
}
json::array arr(const std::vector<std::string>& v) { return json::array(v.begin(), v.end()); }

json::object user_json(const UserInfo& u) {
  json::object o{{"sub", u.subject}, {"email", u.email}, {"groups", arr(u.groups)}};
  if (u.email_verified) o["emailVerified"] = *u.email_verified;  // absent claim: absent here too
  return o;
}
UserInfo user_of(const json::object& o) {
  auto* v = o.if_contains("user");
  if (!v || !v->is_object()) return {};
  auto& u = v->as_object();
  UserInfo r{str(u, "sub"), str(u, "email"), strs(u, "groups"), std::nullopt};
  if (auto* ev = u.if_contains("emailVerified"); ev && ev->is_bool()) r.email_verified = ev->as_bool();
  return r;
}
json::object up_json(const UpstreamSealed& u) {
  return {{"id", u.id_token}, {"refresh", u.refresh_token}, {"exp", u.id_expires}};
}
UpstreamSealed up_of(const json::object& o) {
  auto* v = o.if_contains("upstream");
  if (!v || !v->is_object()) return {};
  auto& u = v->as_object();
  return {str(u, "id"), str(u, "refresh"), num(u, "exp")};
}
json::object parse(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) fail(Errc::internal, "corrupt OAuth store record");
  return std::move(v.as_object());
}
}  // namespace

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json::object to_json(const ClientRecord& c) {
  return {{"client_id", c.client_id},
          {"secret_hash", c.secret_hash},
          {"auth_method", c.auth_method},
          {"redirect_uris", arr(c.redirect_uris)},
          {"name", c.name},
          {"created", c.created}};
}
json::object to_json(const FlowRecord& f) {
  return {{"client_id", f.client_id}, {"redirect_uri", f.redirect_uri},
          {"state", f.state},         {"code_challenge", f.code_challenge},
          {"resource", f.resource},   {"scope", f.scope},
          {"nonce", f.nonce},         {"upstream_verifier", f.upstream_verifier}};
}
json::object to_json(const ConsentRecord& c) {
  auto o = to_json(c.flow);
  o["browser"] = c.browser;
  return o;
}
json::object to_json(const CodeRecord& c) {
  return {{"client_id", c.client_id},
          {"redirect_uri", c.redirect_uri},
          {"code_challenge", c.code_challenge},
          {"resource", c.resource},
          {"scope", c.scope},
          {"user", user_json(c.user)},
          {"upstream", up_json(c.upstream)}};
}
json::object to_json(const Grant& g) {
  return {{"family", g.family},        {"client_id", g.client_id},        {"resource", g.resource}, {"scope", g.scope},
          {"user", user_json(g.user)}, {"upstream", up_json(g.upstream)}, {"created", g.created}};
}
json::object to_json(const AccessRecord& a) {
  return {{"family", a.family}, {"client_id", a.client_id}, {"expires", a.expires}};
}
json::object to_json(const RefreshRecord& r) { return {{"family", r.family}, {"client_id", r.client_id}}; }

template <>
ClientRecord from_json<ClientRecord>(const std::string& t) {
  auto o = parse(t);
  return {str(o, "client_id"),      str(o, "secret_hash"), str(o, "auth_method"),
          strs(o, "redirect_uris"), str(o, "name"),        num(o, "created")};
}
template <>
FlowRecord from_json<FlowRecord>(const std::string& t) {
  auto o = parse(t);
  return {str(o, "client_id"), str(o, "redirect_uri"), str(o, "state"), str(o, "code_challenge"),
          str(o, "resource"),  str(o, "scope"),        str(o, "nonce"), str(o, "upstream_verifier")};
}
template <>
ConsentRecord from_json<ConsentRecord>(const std::string& t) {
  auto o = parse(t);
  return {from_json<FlowRecord>(t), str(o, "browser")};
}
template <>
CodeRecord from_json<CodeRecord>(const std::string& t) {
  auto o = parse(t);
  return {str(o, "client_id"),
          str(o, "redirect_uri"),
          str(o, "code_challenge"),
          str(o, "resource"),
          str(o, "scope"),
          user_of(o),
          up_of(o)};
}
template <>
Grant from_json<Grant>(const std::string& t) {
  auto o = parse(t);
  return {str(o, "family"), str(o, "client_id"), str(o, "resource"), str(o, "scope"), user_of(o),
          up_of(o),         num(o, "created")};
}
template <>
AccessRecord from_json<AccessRecord>(const std::string& t) {
  auto o = parse(t);
  return {str(o, "family"), str(o, "client_id"), num(o, "expires")};
}
template <>
RefreshRecord from_json<RefreshRecord>(const std::string& t) {
  auto o = parse(t);
  return {str(o, "family"), str(o, "client_id")};
}

}  // namespace mk::auth
