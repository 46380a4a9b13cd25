#pragma once
// Which redirect URIs a client may register (OAuth 2.1 §2.3.1, RFC 8252): absolute, no
// fragment, and https, or http on a loopback host (native apps), or a private-use scheme
// (com.example.app:/cb) other than the dangerous ones. Matching at /oauth/authorize is exact.
#include <string>
#include <string_view>

namespace mk::auth {

// "" when acceptable, else why not.
std::string check_redirect_uri(std::string_view uri, std::size_t max_bytes);

}  // namespace mk::auth
