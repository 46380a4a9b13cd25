#pragma once
// The request side and the plain answers of the fake API servers in unit tests (one per test
// file, each on its own io thread): enough HTTP/1.1 for our client, not a general server.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <optional>
#include <string>

namespace fake_http {

struct Req {
  std::string method, target, body;
};

// Reads one request (headers + Content-Length body); nullopt at EOF.
inline boost::asio::awaitable<std::optional<Req>> read_req(boost::asio::ip::tcp::socket& s, std::string& buf) {
  namespace asio = boost::asio;
  auto [ec, n] =
      co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
  if (ec) co_return std::nullopt;
  std::string head = buf.substr(0, n);
  buf.erase(0, n);
  Req r;
  r.method = head.substr(0, head.find(' '));
  auto t0 = head.find(' ') + 1;
  r.target = head.substr(t0, head.find(' ', t0) - t0);
  std::size_t len = 0;
  if (auto p = head.find("Content-Length: "); p != std::string::npos) len = std::stoul(head.substr(p + 16));
  while (buf.size() < len) {
    char tmp[4096];
    auto [ec2, got] = co_await s.async_read_some(asio::buffer(tmp), asio::as_tuple(asio::use_awaitable));
    if (ec2) co_return std::nullopt;
    buf.append(tmp, got);
  }
  r.body = buf.substr(0, len);
  buf.erase(0, len);
  co_return r;
}

// A JSON answer with `extra` header lines (each ending in \r\n); false when the write failed.
inline boost::asio::awaitable<bool> respond(boost::asio::ip::tcp::socket& s, int status, const std::string& body,
                                            const std::string& extra) {
  namespace asio = boost::asio;
  std::string msg = "HTTP/1.1 " + std::to_string(status) +
                    " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                    extra + "\r\n" + body;
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(msg), asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

// Overloads, not a default argument: a coroutine's class-type default argument trips g++ 12.
inline boost::asio::awaitable<bool> respond(boost::asio::ip::tcp::socket& s, int status, const std::string& body) {
  std::string none;
  co_return co_await respond(s, status, body, none);
}

}  // namespace fake_http
