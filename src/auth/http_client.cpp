#include "auth/http_client.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

namespace mk::auth {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

HttpClient::HttpClient(asio::any_io_executor ex, HttpClientOptions opts)
    : ex_(std::move(ex)), opts_(std::move(opts)),
      ssl_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client)) {
  ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  if (opts_.use_system_cas) ssl_->set_default_verify_paths();
  if (!opts_.ca_file.empty()) {
    boost::system::error_code ec;
    ssl_->load_verify_file(opts_.ca_file, ec);
    if (ec) fail(Errc::invalid_argument, fmt::format("cannot load CA file {}: {}", opts_.ca_file, ec.message()));
  }
  ssl_->set_verify_mode(asio::ssl::verify_peer);
}

HttpClient::~HttpClient() = default;

asio::awaitable<HttpAnswer> HttpClient::get(std::string url, Headers headers) {
  return send(false, std::move(url), std::move(headers), {}, {});
}
asio::awaitable<HttpAnswer> HttpClient::post(std::string url, Headers headers, std::string body,
                                             std::string content_type) {
  return send(true, std::move(url), std::move(headers), std::move(body), std::move(content_type));
}

namespace {
template <class Stream>
asio::awaitable<HttpAnswer> exchange(Stream& s, http::request<http::string_body>& req, std::size_t cap) {
  co_await http::async_write(s, req, asio::use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(cap);
  parser.header_limit(64 * 1024);
  co_await http::async_read(s, buf, parser, asio::use_awaitable);
  auto& res = parser.get();
  HttpAnswer a;
  a.status = res.result_int();
  a.content_type = std::string(res[http::field::content_type]);
  a.body = std::move(res.body());
  co_return a;
}

bool is_ip(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}
}  // namespace

asio::awaitable<HttpAnswer> HttpClient::send(bool post, std::string url, Headers headers, std::string body,
                                             std::string content_type) {
  auto u = boost::urls::parse_uri(url);
  if (!u || (u->scheme() != "https" && u->scheme() != "http") || u->host().empty())
    fail(Errc::invalid_argument, fmt::format("not an http(s) URL: {}", url.substr(0, 200)));
  bool tls = u->scheme() == "https";
  std::string host = u->host_address();
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::string port = u->has_port() ? std::string(u->port()) : (tls ? "443" : "80");
  std::string target = std::string(u->encoded_path());
  if (target.empty()) target = "/";
  if (u->has_query()) target += "?" + std::string(u->encoded_query());

  http::request<http::string_body> req{post ? http::verb::post : http::verb::get, target, 11};
  req.set(http::field::host, u->has_port() ? std::string(u->encoded_host_and_port()) : std::string(u->encoded_host()));
  req.set(http::field::user_agent, "mcp-kubernetes");
  req.set(http::field::accept, "application/json");
  for (auto& [k, v] : headers) req.set(k, v);
  if (post) {
    req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
  }
  req.prepare_payload();

  try {
    // Name resolution has no timeout of its own: a timer cancels it. The resolver is shared
    // with the timer's handler, which may run after this frame has moved on.
    auto resolver = std::make_shared<tcp::resolver>(ex_);
    asio::steady_timer resolve_deadline(ex_);
    resolve_deadline.expires_after(opts_.timeout);
    resolve_deadline.async_wait([resolver](boost::system::error_code ec) {
      if (!ec) resolver->cancel();
    });
    beast::tcp_stream plain(ex_);
    plain.expires_after(opts_.timeout);
    auto eps = co_await resolver->async_resolve(host, port, asio::use_awaitable);
    resolve_deadline.cancel();
    std::vector<tcp::endpoint> allowed;
    for (auto& e : eps)
      if (!opts_.allow_address || opts_.allow_address(host, e.endpoint().address())) allowed.push_back(e.endpoint());
    if (allowed.empty())
      fail(Errc::forbidden, fmt::format("{} resolves to no address this server may connect to (loopback, private, "
                                        "link-local, multicast and unspecified addresses are refused)",
                                        host));
    co_await plain.async_connect(allowed, asio::use_awaitable);
    if (!tls) {
      auto a = co_await exchange(plain, req, opts_.max_response_bytes);
      co_return a;
    }
    beast::ssl_stream<beast::tcp_stream> s(std::move(plain), *ssl_);
    if (!is_ip(host)) SSL_set_tlsext_host_name(s.native_handle(), host.c_str());
    s.set_verify_callback(asio::ssl::host_name_verification(host));
    co_await s.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    auto a = co_await exchange(s, req, opts_.max_response_bytes);
    co_return a;
  } catch (const boost::system::system_error& e) {
    auto ec = e.code();
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted)
      fail(Errc::timeout, fmt::format("{} did not answer within {} s", host, opts_.timeout.count() / 1000.0));
    if (ec == http::error::body_limit)
      fail(Errc::too_large, fmt::format("answer from {} exceeds {} bytes", host, opts_.max_response_bytes));
    fail(Errc::unavailable, fmt::format("request to {}:{} failed: {}", host, port, ec.message()));
  }
}

}  // namespace mk::auth
