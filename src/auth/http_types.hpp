#pragma once
// The authorization server's view of HTTP, independent of the transport's server types: the
// transport fills an HttpRequest and writes back an HttpReply.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mk::auth {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string query;   // raw, without '?'
  std::string authorization;
  std::string content_type;
  std::string body;
  std::string peer;    // remote IP address
  std::string cookie;  // the Cookie header (consent page)
};

struct HttpReply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // Location, Cache-Control, WWW-Authenticate
};

// application/x-www-form-urlencoded (also a query string). A parameter given twice is an
// error (RFC 6749 §3.1): nullopt-like empty optional is not enough, so it throws OAuthError
// invalid_request. Caps: 64 parameters, names and values as the body cap allows.
std::map<std::string, std::string> parse_form(std::string_view text);
std::string url_encode(std::string_view s);
// "a=b&c=d" from pairs, each encoded.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& kv);

}  // namespace mk::auth
