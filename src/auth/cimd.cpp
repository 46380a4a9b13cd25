#include "auth/cimd.hpp"

#include "auth/http_client.hpp"
#include "auth/oauth_error.hpp"
#include "auth/redirect_uri.hpp"
#include "instrumentation/metrics.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>

namespace mk::auth {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
[[noreturn]] void refuse(std::string why) { oauth_fail(400, "invalid_client", "client metadata document: " + why); }

bool public_v4(const asio::ip::address_v4& a) {
  auto b = a.to_bytes();
  auto in = [&](std::array<unsigned char, 4> net, int bits) {
    std::uint32_t x = (std::uint32_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    std::uint32_t n = (std::uint32_t(net[0]) << 24) | (net[1] << 16) | (net[2] << 8) | net[3];
    std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t(0) << (32 - bits);
    return (x & mask) == (n & mask);
  };
  return !(in({0, 0, 0, 0}, 8)           // "this network", unspecified
           || in({10, 0, 0, 0}, 8)       // private
           || in({100, 64, 0, 0}, 10)    // shared (carrier NAT)
           || in({127, 0, 0, 0}, 8)      // loopback
           || in({169, 254, 0, 0}, 16)   // link-local (cloud metadata services live here)
           || in({172, 16, 0, 0}, 12)    // private
           || in({192, 0, 0, 0}, 24)     // IETF protocol assignments
           || in({192, 0, 2, 0}, 24)     // documentation
           || in({192, 88, 99, 0}, 24)   // 6to4 relay anycast
           || in({192, 168, 0, 0}, 16)   // private
           || in({198, 18, 0, 0}, 15)    // benchmarking
           || in({198, 51, 100, 0}, 24)  // documentation
           || in({203, 0, 113, 0}, 24)   // documentation
           || in({224, 0, 0, 0}, 4)      // multicast
           || in({240, 0, 0, 0}, 4));    // reserved, broadcast
}
}  // namespace

bool public_address(const asio::ip::address& a) {
  if (a.is_v4()) return public_v4(a.to_v4());
  auto v6 = a.to_v6();
  auto b = v6.to_bytes();
  auto v4_at = [&](int i) { return asio::ip::address_v4({b[i], b[i + 1], b[i + 2], b[i + 3]}); };
  if (v6.is_unspecified() || v6.is_loopback() || v6.is_multicast() || v6.is_link_local() || v6.is_site_local())
    return false;
  if ((b[0] & 0xfe) == 0xfc) return false;             // fc00::/7 unique local
  if (v6.is_v4_mapped()) return public_v4(v4_at(12));  // ::ffff:a.b.c.d
  if (std::all_of(b.begin(), b.begin() + 12, [](auto c) { return c == 0; }))
    return false;  // ::a.b.c.d (deprecated compatible)
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return public_v4(v4_at(12));  // 64:ff9b::/96
  if (b[0] == 0x20 && b[1] == 0x02) return public_v4(v4_at(2));                                   // 2002::/16 6to4
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;                 // documentation
  if (b[0] == 0x01 && b[1] == 0x00 && std::all_of(b.begin() + 2, b.begin() + 8, [](auto c) { return c == 0; }))
    return false;  // 100::/64 discard
  return true;
}

bool looks_like_url(std::string_view client_id) { return client_id.find("://") != std::string_view::npos; }

std::string check_cimd_url(std::string_view url, std::size_t max_bytes) {
  if (url.size() > max_bytes) return fmt::format("the URL is longer than {} bytes", max_bytes);
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return "the client_id is not an absolute URL without fragment";
  if (u->scheme() != "https") return "the client_id URL must use https";
  if (u->host().empty()) return "the client_id URL has no host";
  if (u->has_userinfo()) return "the client_id URL must not contain user information";
  auto path = std::string(u->encoded_path());
  if (path.empty() || path == "/") return "the client_id URL must have a path (the document's location)";
  for (auto seg : u->encoded_segments())
    if (seg == "." || seg == "..") return "the client_id URL must not contain . or .. segments";
  return "";
}

ClientRecord parse_cimd_document(std::string_view url, std::string_view body, const CimdOptions& opts) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) refuse("not a JSON object");
  auto& o = v.as_object();
  auto str = [&](std::string_view k, std::size_t max) {
    auto* f = o.if_contains(k);
    if (!f) return std::string();
    if (!f->is_string() || f->as_string().size() > max)
      refuse(fmt::format("{} must be a string of at most {} bytes", k, max));
    return std::string(f->as_string());
  };
  if (str("client_id", opts.max_uri_bytes) != url) refuse("its client_id is not the URL it was fetched from");
  // A document anyone can read cannot hold a secret; and we accept only public clients from it.
  if (o.contains("client_secret") || o.contains("client_secret_expires_at"))
    refuse("it must not contain a client secret");
  auto method = str("token_endpoint_auth_method", 64);
  if (!method.empty() && method != "none") refuse("token_endpoint_auth_method must be none");
  ClientRecord c;
  c.client_id = std::string(url);
  c.auth_method = "none";
  c.name = str("client_name", 256);
  auto* uris = o.if_contains("redirect_uris");
  if (!uris || !uris->is_array() || uris->as_array().empty()) refuse("redirect_uris is required");
  if (uris->as_array().size() > opts.max_redirect_uris)
    refuse(fmt::format("at most {} redirect_uris", opts.max_redirect_uris));
  for (auto& e : uris->as_array()) {
    if (!e.is_string()) refuse("redirect_uris must hold strings");
    auto why = check_redirect_uri(e.as_string(), opts.max_uri_bytes);
    if (!why.empty()) refuse(why);
    c.redirect_uris.emplace_back(e.as_string());
  }
  for (std::string_view k : {"grant_types", "response_types"}) {
    auto* a = o.if_contains(k);
    if (!a) continue;
    if (!a->is_array()) refuse(fmt::format("{} must be an array", k));
    for (auto& e : a->as_array())
      if (!e.is_string() ||
          (e.as_string() != "authorization_code" && e.as_string() != "refresh_token" && e.as_string() != "code"))
        refuse(fmt::format("{}: only authorization_code, refresh_token and code", k));
  }
  c.created = unix_now();
  return c;
}

CimdResolver::CimdResolver(asio::any_io_executor ex, CimdOptions opts) : opts_(std::move(opts)) {
  HttpClientOptions ho;
  ho.timeout = opts_.timeout;
  ho.max_response_bytes = opts_.max_bytes;
  ho.ca_file = opts_.test_ca_file;
  auto test_host = opts_.test_loopback_host;
  ho.allow_address = [test_host](const std::string& host, const asio::ip::address& a) {
    if (!test_host.empty() && host == test_host && a.is_loopback()) return true;
    return public_address(a);
  };
  http_ = std::make_unique<HttpClient>(std::move(ex), std::move(ho));
  auto& reg = metrics::Registry::global();
  reg.describe("oauth_cimd_fetch_total", "counter", "Client ID Metadata Document fetches, by result.");
  reg.describe("oauth_cimd_cache_total", "counter", "Client ID Metadata Document lookups, by cache hit or miss.");
}

CimdResolver::~CimdResolver() = default;

asio::awaitable<ClientRecord> CimdResolver::resolve(std::string url) {
  auto why = check_cimd_url(url, opts_.max_uri_bytes);
  if (!why.empty()) refuse(why);
  auto& reg = metrics::Registry::global();
  auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(url); it != cache_.end()) {
    if (it->second.expires > now) {
      reg.inc("oauth_cimd_cache_total", {{"result", "hit"}});
      co_return it->second.client;
    }
    cache_.erase(it);
  }
  reg.inc("oauth_cimd_cache_total", {{"result", "miss"}});
  if (in_flight_ >= opts_.max_in_flight) {
    reg.inc("oauth_cimd_fetch_total", {{"result", "busy"}});
    refuse("too many document fetches in progress; try again");
  }
  HttpAnswer a;
  std::string failure;
  {
    ++in_flight_;
    struct Done {  // however the fetch ends (also a destroyed coroutine)
      std::size_t& n;
      ~Done() { --n; }
    } done{in_flight_};
    try {
      Headers h;
      a = co_await http_->get(url, std::move(h));
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  if (!failure.empty()) {
    reg.inc("oauth_cimd_fetch_total", {{"result", "error"}});
    log::info("oauth: client metadata document {} refused: {}", url.substr(0, 200), failure);
    refuse(failure);
  }
  if (a.status != 200) {
    reg.inc("oauth_cimd_fetch_total", {{"result", "error"}});
    if (a.status >= 300 && a.status < 400) refuse(fmt::format("HTTP {} (redirects are not followed)", a.status));
    refuse(fmt::format("HTTP {}", a.status));
  }
  if (a.content_type.find("json") == std::string::npos) {
    reg.inc("oauth_cimd_fetch_total", {{"result", "error"}});
    refuse("the answer is not application/json");
  }
  ClientRecord c;
  try {
    c = parse_cimd_document(url, a.body, opts_);
  } catch (const OAuthError&) {
    reg.inc("oauth_cimd_fetch_total", {{"result", "invalid"}});
    throw;
  }
  reg.inc("oauth_cimd_fetch_total", {{"result", "success"}});
  bool loopback_only = std::all_of(c.redirect_uris.begin(), c.redirect_uris.end(), [](const std::string& u) {
    return u.starts_with("http://127.0.0.1") || u.starts_with("http://localhost") || u.starts_with("http://[::1]");
  });
  if (loopback_only)
    log::info("oauth: client metadata document {} has only loopback redirect URIs (any local program can use it)",
              url.substr(0, 200));
  now = std::chrono::steady_clock::now();
  if (cache_.size() >= opts_.max_entries) {
    std::erase_if(cache_, [now](const auto& kv) { return kv.second.expires <= now; });
    if (cache_.size() >= opts_.max_entries) {
      auto oldest = std::min_element(cache_.begin(), cache_.end(),
                                     [](const auto& x, const auto& y) { return x.second.expires < y.second.expires; });
      cache_.erase(oldest);
    }
  }
  cache_[url] = Entry{c, now + opts_.ttl};
  co_return c;
}

}  // namespace mk::auth
