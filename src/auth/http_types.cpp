#include "auth/http_types.hpp"

#include "auth/oauth_error.hpp"

#include <boost/json/serialize.hpp>

#include <fmt/core.h>

#include <cctype>

namespace mk::auth {
namespace {
constexpr std::size_t kMaxParams = 64;  // an OAuth request has about a dozen

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%') {
      if (i + 2 >= s.size()) bad_request("malformed percent-encoding");
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) bad_request("malformed percent-encoding");
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else out += s[i];
  }
  return out;
}
}  // namespace

std::map<std::string, std::string> parse_form(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto amp = text.find('&', start);
    auto part = text.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    start = amp == std::string_view::npos ? text.size() : amp + 1;
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto name = decode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string() : decode(part.substr(eq + 1));
    if (out.size() >= kMaxParams) bad_request("too many parameters");
    if (!out.emplace(std::move(name), std::move(value)).second) bad_request("a parameter is given more than once");
  }
  // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
  std::erase_if(out, [](auto& kv) { return kv.second.empty(); });
  return out;
}

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out;
  for (auto& [k, v] : kv) {
    if (!out.empty()) out += '&';
    out += url_encode(k) + "=" + url_encode(v);
  }
  return out;
}

HttpReply json_reply(unsigned status, const boost::json::object& body) {
  HttpReply r;
  r.status = status;
  r.body = boost::json::serialize(body);
  r.headers = {{"Cache-Control", "no-store"}, {"Pragma", "no-cache"}};
  return r;
}

HttpReply error_reply(const OAuthError& e) {
  auto r = json_reply(e.status, {{"error", e.code}, {"error_description", e.what()}});
  if (e.status == 401 && e.code == "invalid_client")
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"oauth\"");
  return r;
}

HttpReply redirect_reply(std::string location) {
  HttpReply r;
  r.status = 302;
  r.content_type = "text/plain";
  r.headers = {{"Location", std::move(location)}, {"Cache-Control", "no-store"}};
  return r;
}

}  // namespace mk::auth
