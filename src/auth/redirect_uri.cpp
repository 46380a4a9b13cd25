#include "auth/redirect_uri.hpp"

#include <fmt/core.h>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

namespace mk::auth {

std::string check_redirect_uri(std::string_view uri, std::size_t max_bytes) {
  if (uri.size() > max_bytes) return fmt::format("redirect URI longer than {} bytes", max_bytes);
  auto u = boost::urls::parse_absolute_uri(uri);
  if (!u) return "redirect URI is not an absolute URI without fragment";
  std::string scheme(u->scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  for (auto bad : {"javascript", "data", "file", "ftp", "vbscript", "blob"})
    if (scheme == bad) return fmt::format("redirect URI scheme {} is not allowed", scheme);
  if (scheme == "https") return u->host().empty() ? "redirect URI has no host" : "";
  if (scheme == "http") {
    std::string host(u->host_address());
    if (host == "127.0.0.1" || host == "::1" || host == "[::1]" || host == "localhost") return "";
    return "http redirect URIs must use a loopback host (127.0.0.1, [::1], localhost); use https";
  }
  return "";  // a private-use scheme of a native app
}

}  // namespace mk::auth
