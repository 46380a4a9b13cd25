#pragma once
// The one place OAuth error answers are built (RFC 6749 §5.2, RFC 6750 §3, RFC 7591 §3.2.2).
// Endpoint code throws OAuthError; the dispatcher turns it into the JSON answer, so every
// endpoint answers the same shape. Nothing is stored before a request has been validated.
#include "auth/http_types.hpp"

#include <boost/json/object.hpp>

#include <stdexcept>
#include <string>

namespace mk::auth {

class OAuthError : public std::runtime_error {
 public:
  OAuthError(unsigned status, std::string code, std::string description)
      : std::runtime_error(std::move(description)), status(status), code(std::move(code)) {}
  unsigned status;
  std::string code;  // invalid_request, invalid_client, invalid_grant, ...
};

[[noreturn]] inline void oauth_fail(unsigned status, std::string code, std::string description) {
  throw OAuthError(status, std::move(code), std::move(description));
}
[[noreturn]] inline void bad_request(std::string description) {
  oauth_fail(400, "invalid_request", std::move(description));
}

// {"error","error_description"} with Cache-Control: no-store; a 401 invalid_client names the
// Basic scheme (RFC 6749 §5.2).
HttpReply error_reply(const OAuthError& e);
HttpReply json_reply(unsigned status, const boost::json::object& body);  // no-store
HttpReply redirect_reply(std::string location);

}  // namespace mk::auth
