#include "util/http_post.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mk::http_post {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

Url parse_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind("https://", 0) == 0)
    fail(Errc::invalid_argument,
         "https endpoints are not supported by this exporter; use http:// (a collector "
         "beside the server, which forwards over TLS)");
  if (url.rfind(kScheme, 0) != 0) fail(Errc::invalid_argument, "endpoint must start with http://");
  std::string_view rest(url);
  rest.remove_prefix(kScheme.size());
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    fail(Errc::invalid_argument, "endpoint needs a host (and no user info)");
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) fail(Errc::invalid_argument, "endpoint: unclosed IPv6 literal");
    u.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') fail(Errc::invalid_argument, "endpoint: bad port");
    u.port = after.empty() ? "80" : std::string(after.substr(1));
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    u.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  }
  if (u.host.empty() || u.port.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos || std::stoul(u.port) == 0 ||
      std::stoul(u.port) > 65535)
    fail(Errc::invalid_argument, "endpoint: bad host or port");
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail(Errc::invalid_argument, "endpoint: bad path");
  return u;
}

Result post(const Url& url, const Headers& headers, std::string body, std::chrono::milliseconds timeout,
            std::size_t max_body) {
  Result out;
  asio::io_context io(1);
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, url.target, 11};
  req.set(bhttp::field::host, url.host + ":" + url.port);
  req.set(bhttp::field::connection, "close");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body);
  parser.header_limit(16 * 1024);
  auto fail_with = [&out](const char* what, const boost::system::error_code& ec) {
    if (out.error.empty()) out.error = fmt::format("{}: {}", what, ec.message());
  };
  // One deadline for the whole exchange: beast's tcp_stream timer covers connect, write and
  // read; the resolver gets the io_context's own run_for bound below.
  stream.expires_after(timeout);
  resolver.async_resolve(url.host, url.port, [&](boost::system::error_code ec, tcp::resolver::results_type eps) {
    if (ec) return fail_with("resolve", ec);
    stream.async_connect(eps, [&](boost::system::error_code ec2, const tcp::endpoint&) {
      if (ec2) return fail_with("connect", ec2);
      bhttp::async_write(stream, req, [&](boost::system::error_code ec3, std::size_t) {
        if (ec3) return fail_with("write", ec3);
        bhttp::async_read(stream, buf, parser, [&](boost::system::error_code ec4, std::size_t) {
          if (ec4 && ec4 != bhttp::error::body_limit) return fail_with("read", ec4);
          out.status = parser.get().result_int();
          out.body = std::move(parser.get().body());
        });
      });
    });
  });
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!io.stopped()) {  // the resolver outlived the deadline (getaddrinfo cannot be interrupted)
    resolver.cancel();
    stream.close();
    io.run_for(std::chrono::milliseconds(100));
    if (out.error.empty() && out.status == 0) out.error = "timed out";
  }
  if (out.status == 0 && out.error.empty()) out.error = "no answer";
  return out;
}

}  // namespace mk::http_post
