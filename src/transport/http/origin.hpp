#pragma once
// DNS-rebinding protection: Host and Origin checks for a server that may be bound to loopback.
#include <string>
#include <string_view>
#include <vector>

namespace mk::transport::http {

bool is_loopback_host(std::string_view host_header);  // "localhost:8080", "127.0.0.1", "[::1]:9"
// Origin absent => allowed (non-browser clients). Present => loopback origins, or one listed.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed);

}  // namespace mk::transport::http
