#pragma once
// Our own consent page (MCP security best practices, "confused deputy"): this server signs
// users in at the provider with one static client id for every dynamically registered client,
// so before sending a browser upstream it asks the user whether *this* client may act for
// them. An approval is remembered per browser and client in a cookie MAC'd with a server key
// (derived from --oauth-encryption-key, so every replica accepts it) and bound to the client
// id and an expiry. The page's answer carries a one-time CSRF token bound to the pending
// request (in the Store) and to the browser that was shown the page (a second cookie).
#include "auth/config.hpp"
#include "auth/http_types.hpp"
#include "auth/records.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace mk::auth {

// The Cookie header as name -> value (first occurrence wins; at most 64 cookies read).
std::map<std::string, std::string> parse_cookies(std::string_view header);

// "__Host-mcpk-consent-<hash of client id>" over https, without the prefix over http.
std::string consent_cookie_name(const AuthConfig& cfg, std::string_view client_id);
std::string browser_cookie_name(const AuthConfig& cfg);
// "<expiry unix seconds>.<base64url HMAC(key, client_id, expiry)>"
std::string consent_cookie_value(std::string_view key, std::string_view client_id, std::int64_t expires);
bool consent_cookie_valid(std::string_view key, std::string_view client_id, std::string_view value, std::int64_t now);
// A Set-Cookie value: Path=/, HttpOnly, SameSite=Lax, Max-Age; Secure over https.
std::string set_cookie(const AuthConfig& cfg, std::string_view name, std::string_view value, std::int64_t max_age);

std::string html_escape(std::string_view s);

// The page itself: who asks (client name, id, where the answer goes), for what scope; approve
// and deny post `csrf_token` to /oauth/consent. Not framable, not cached.
HttpReply consent_page(const AuthConfig& cfg, const ClientRecord& client, const FlowRecord& flow,
                       const std::string& csrf_token);

}  // namespace mk::auth
