#pragma once
// The one error convention of the project: code that cannot do what was asked throws
// mk::Error with a category. The MCP layer turns protocol-level categories into JSON-RPC
// errors and everything raised inside a tool into an `isError` tool result, so a single
// throw site produces the right shape on every transport.
#include <boost/json/object.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mk {

enum class Errc {
  invalid_argument,  // caller's input is wrong (bad argument, unknown resource type, ...)
  not_found,         // the object or resource does not exist
  already_exists,
  conflict,           // optimistic-concurrency or apply conflict
  invalid,            // the API server rejected the object (field errors)
  unauthorized,       // no or bad credentials
  forbidden,          // RBAC said no
  policy_denied,      // this server's safety policy said no
  too_large,          // a cap was hit
  too_many_requests,  // a concurrency limit of this server was hit; retry later
  timeout,
  cancelled,
  unavailable,  // API server unreachable / 5xx / throttled past retries
  internal,
};

std::string_view to_string(Errc c) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string message, boost::json::object details = {})
      : std::runtime_error(std::move(message)), code_(code), details_(std::move(details)) {}
  Errc code() const noexcept { return code_; }
  const boost::json::object& details() const noexcept { return details_; }

 private:
  Errc code_;
  boost::json::object details_;
};

[[noreturn]] inline void fail(Errc code, std::string message, boost::json::object details = {}) {
  throw Error(code, std::move(message), std::move(details));
}

}  // namespace mk
