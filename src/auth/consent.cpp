#include "auth/consent.hpp"

#include "auth/crypto.hpp"

#include <fmt/core.h>
#include <boost/url/parse.hpp>

#include <charconv>

namespace mk::auth {

namespace {
constexpr std::size_t kMaxCookies = 64;  // a browser sends a few dozen at most
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
std::string prefix(const AuthConfig& cfg) { return cfg.secure_cookies() ? "__Host-mcpk-" : "mcpk-"; }
std::string mac(std::string_view key, std::string_view client_id, std::int64_t expires) {
  // Length-prefixed so no (client id, expiry) pair spells another's input.
  auto input = fmt::format("consent/v1\n{}\n{}\n{}", client_id.size(), client_id, expires);
  return base64url_encode(hmac_sha256(key, input));
}
}  // namespace

std::map<std::string, std::string> parse_cookies(std::string_view header) {
  std::map<std::string, std::string> out;
  std::size_t seen = 0;
  while (!header.empty() && seen < kMaxCookies) {
    auto semi = header.find(';');
    auto part = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    ++seen;
    auto value = trim(part.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    out.emplace(std::string(trim(part.substr(0, eq))), std::string(value));
  }
  return out;
}

std::string consent_cookie_name(const AuthConfig& cfg, std::string_view client_id) {
  // A hash: client ids (CIMD URLs) hold characters a cookie name may not.
  return prefix(cfg) + "consent-" + sha256_b64url(client_id).substr(0, 22);
}

std::string browser_cookie_name(const AuthConfig& cfg) { return prefix(cfg) + "browser"; }

std::string consent_cookie_value(std::string_view key, std::string_view client_id, std::int64_t expires) {
  return fmt::format("{}.{}", expires, mac(key, client_id, expires));
}

bool consent_cookie_valid(std::string_view key, std::string_view client_id, std::string_view value, std::int64_t now) {
  auto dot = value.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 19 || value.size() > 128) return false;
  std::int64_t expires = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + dot, expires);
  if (ec != std::errc() || p != value.data() + dot) return false;
  if (!constant_time_equal(value.substr(dot + 1), mac(key, client_id, expires))) return false;
  return expires > now;
}

std::string set_cookie(const AuthConfig& cfg, std::string_view name, std::string_view value, std::int64_t max_age) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}", name, value, max_age,
                     cfg.secure_cookies() ? "; Secure" : "");
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters would only confuse the reader (or a terminal-like display).
        if (static_cast<unsigned char>(c) < 0x20) out += ' ';
        else out += c;
    }
  }
  return out;
}

HttpReply consent_page(const AuthConfig& cfg, const ClientRecord& client, const FlowRecord& flow,
                       const std::string& csrf_token) {
  // Where the answer goes is what tells the user who is asking: the host for web redirect
  // URIs, the scheme for a native app's private-use one.
  std::string dest = flow.redirect_uri;
  if (auto u = boost::urls::parse_absolute_uri(flow.redirect_uri); u) {
    if (!u->encoded_host().empty()) dest = std::string(u->encoded_host_and_port());
    else dest = std::string(u->scheme()) + ":";
  }
  std::string name = client.name.empty() ? std::string("An application that did not give its name") : client.name;
  std::string scope = flow.scope.empty() ? std::string("(none named; access to the MCP server)") : flow.scope;
  HttpReply r;
  r.status = 200;
  r.content_type = "text/html; charset=utf-8";
  r.body = fmt::format(
      R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allow access?</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em}}dt{{font-weight:bold}}
dd{{margin:0 0 .8em 0;word-break:break-all}}button{{font-size:1em;padding:.4em 1.2em;margin-right:1em}}</style>
</head><body>
<h1>Allow access to {server}?</h1>
<p><strong id="client-name">{name}</strong> wants to use <strong>{server}</strong> as you.
Only continue if you started this sign-in and trust this application.</p>
<dl>
<dt>Application</dt><dd id="client-id">{client_id}</dd>
<dt>Sends you back to</dt><dd id="redirect-host">{dest}</dd>
<dt>Full redirect address</dt><dd id="redirect-uri">{redirect}</dd>
<dt>Requested scope</dt><dd id="scope">{scope}</dd>
</dl>
<form method="post" action="{action}">
<input type="hidden" name="csrf_token" value="{csrf}">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
)",
      fmt::arg("server", html_escape(cfg.resource())), fmt::arg("name", html_escape(name)),
      fmt::arg("client_id", html_escape(client.client_id)), fmt::arg("dest", html_escape(dest)),
      fmt::arg("redirect", html_escape(flow.redirect_uri)), fmt::arg("scope", html_escape(scope)),
      fmt::arg("action", html_escape(cfg.base_url + "/oauth/consent")), fmt::arg("csrf", html_escape(csrf_token)));
  r.headers = {{"Cache-Control", "no-store"},
               {"Pragma", "no-cache"},
               {"X-Frame-Options", "DENY"},
               {"Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

}  // namespace mk::auth
