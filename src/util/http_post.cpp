#include "util/http_post.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <optional>
#include <type_traits>

namespace mk::http_post {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

Url parse_url(const std::string& url) {
  Url u;
  std::string_view rest(url);
  if (rest.rfind("https://", 0) == 0) {
    u.tls = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    fail(Errc::invalid_argument, "endpoint must start with http:// or https://");
  }
  const char* default_port = u.tls ? "443" : "80";
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    fail(Errc::invalid_argument, "endpoint needs a host (and no user info)");
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) fail(Errc::invalid_argument, "endpoint: unclosed IPv6 literal");
    u.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') fail(Errc::invalid_argument, "endpoint: bad port");
    u.port = after.empty() ? default_port : std::string(after.substr(1));
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    u.port = colon == std::string_view::npos ? default_port : std::string(authority.substr(colon + 1));
  }
  if (u.host.empty() || u.port.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos || std::stoul(u.port) == 0 ||
      std::stoul(u.port) > 65535)
    fail(Errc::invalid_argument, "endpoint: bad host or port");
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail(Errc::invalid_argument, "endpoint: bad path");
  return u;
}

namespace {
// resolve -> connect -> (handshake) -> write -> read, on `stream` (a tcp_stream, or an
// ssl_stream over `lowest`), within `lowest`'s deadline.
template <class Stream>
void exchange(Stream& stream, beast::tcp_stream& lowest, tcp::resolver& resolver, const Url& url,
              bhttp::request<bhttp::string_body>& req, beast::flat_buffer& buf,
              bhttp::response_parser<bhttp::string_body>& parser, Result& out) {
  // Every callback runs after this function returned: they hold pointers to the caller's
  // objects (which outlive the io_context run), never references to this frame.
  auto* o = &out;
  auto fail_with = [o](const char* what, const boost::system::error_code& ec) {
    if (o->error.empty()) o->error = fmt::format("{}: {}", what, ec.message());
  };
  auto send = [s = &stream, r = &req, b = &buf, p = &parser, o, fail_with] {
    bhttp::async_write(*s, *r, [s, b, p, o, fail_with](boost::system::error_code ec, std::size_t) {
      if (ec) return fail_with("write", ec);
      bhttp::async_read(*s, *b, *p, [p, o, fail_with](boost::system::error_code ec2, std::size_t) {
        if (ec2 && ec2 != bhttp::error::body_limit) return fail_with("read", ec2);
        o->status = p->get().result_int();
        o->body = std::move(p->get().body());
      });
    });
  };
  resolver.async_resolve(
      url.host, url.port,
      [s = &stream, t = &lowest, fail_with, send](boost::system::error_code ec, tcp::resolver::results_type eps) {
        if (ec) return fail_with("resolve", ec);
        t->async_connect(eps, [s, fail_with, send](boost::system::error_code ec2, const tcp::endpoint&) {
          if (ec2) return fail_with("connect", ec2);
          if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            (void)s;  // only the TLS stream has a handshake
            send();
          } else {
            s->async_handshake(asio::ssl::stream_base::client, [fail_with, send](boost::system::error_code ec3) {
              if (ec3) return fail_with("TLS handshake", ec3);
              send();
            });
          }
        });
      });
}
}  // namespace

Result post(const Url& url, const Headers& headers, std::string body, std::chrono::milliseconds timeout,
            std::size_t max_body, const std::string& ca_file) {
  Result out;
  asio::io_context io(1);
  tcp::resolver resolver(io);
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, url.target, 11};
  bool default_port = url.port == (url.tls ? "443" : "80");
  req.set(bhttp::field::host, default_port ? url.host : url.host + ":" + url.port);
  req.set(bhttp::field::connection, "close");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body);
  parser.header_limit(16 * 1024);

  std::optional<asio::ssl::context> ctx;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  beast::tcp_stream* tcp_layer = nullptr;
  if (url.tls) {
    ctx.emplace(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (ca_file.empty()) ctx->set_default_verify_paths(ec);
    else ctx->load_verify_file(ca_file, ec);
    if (ec) {
      out.error = fmt::format("TLS: cannot load {}: {}", ca_file.empty() ? "the system CAs" : ca_file, ec.message());
      return out;
    }
    ctx->set_verify_mode(asio::ssl::verify_peer);
    tls.emplace(io, *ctx);
    tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
    // SNI, for collectors behind a proxy that routes by name (not for IP literals, per RFC 6066).
    boost::system::error_code aec;
    asio::ip::make_address(url.host, aec);
    if (aec && !SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str())) {
      out.error = "TLS: cannot set the server name";
      return out;
    }
    tcp_layer = &beast::get_lowest_layer(*tls);
  } else {
    plain.emplace(io);
    tcp_layer = &*plain;
  }
  // One deadline for the whole exchange: beast's tcp_stream timer covers connect, handshake,
  // write and read; the resolver gets the io_context's own run_for bound below.
  tcp_layer->expires_after(timeout);
  if (tls) exchange(*tls, *tcp_layer, resolver, url, req, buf, parser, out);
  else exchange(*plain, *tcp_layer, resolver, url, req, buf, parser, out);
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!io.stopped()) {  // the resolver outlived the deadline (getaddrinfo cannot be interrupted)
    resolver.cancel();
    tcp_layer->close();
    io.run_for(std::chrono::milliseconds(100));
    if (out.error.empty() && out.status == 0) out.error = "timed out";
  }
  if (out.status == 0 && out.error.empty()) out.error = "no answer";
  return out;
}

}  // namespace mk::http_post
