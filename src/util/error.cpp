#include "util/error.hpp"

namespace mk {

std::string_view to_string(Errc c) noexcept {
  switch (c) {
    case Errc::invalid_argument: return "InvalidArgument";
    case Errc::not_found: return "NotFound";
    case Errc::already_exists: return "AlreadyExists";
    case Errc::conflict: return "Conflict";
    case Errc::invalid: return "Invalid";
    case Errc::unauthorized: return "Unauthorized";
    case Errc::forbidden: return "Forbidden";
    case Errc::policy_denied: return "PolicyDenied";
    case Errc::too_large: return "TooLarge";
    case Errc::too_many_requests: return "TooManyRequests";
    case Errc::timeout: return "Timeout";
    case Errc::cancelled: return "Cancelled";
    case Errc::unavailable: return "Unavailable";
    case Errc::internal: return "Internal";
  }
  return "Internal";
}

}  // namespace mk
