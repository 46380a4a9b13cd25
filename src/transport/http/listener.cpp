#include "transport/http/listener.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace mk::transport::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

Response make_response(const Request& req, bhttp::status st, std::string body, std::string content_type) {
  Response res{st, req.version()};
  res.set(bhttp::field::server, "mcp-kubernetes");
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

namespace {
template <class Stream>
beast::tcp_stream& lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

template <class Stream>
class StreamWriter : public Writer {
 public:
  explicit StreamWriter(Stream& s) : s_(s) {}
  asio::awaitable<void> send(Response res) override {
    status = res.result_int();
    res.prepare_payload();
    lowest(s_).expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await bhttp::async_write(s_, res, tuple_awaitable);
    lowest(s_).expires_never();
    if (ec) failed_ = true;
    keep_ = res.keep_alive() && !ec;
  }
  asio::awaitable<bool> start_sse(Response headers) override {
    status = headers.result_int();
    bhttp::response<bhttp::empty_body> h{headers.result(), headers.version()};
    for (auto& f : headers) h.set(f.name_string(), f.value());
    h.set(bhttp::field::content_type, "text/event-stream");
    h.set(bhttp::field::cache_control, "no-cache");
    h.set("X-Accel-Buffering", "no");
    h.chunked(true);
    h.keep_alive(headers.keep_alive());
    bhttp::response_serializer<bhttp::empty_body> sr{h};
    lowest(s_).expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await bhttp::async_write_header(s_, sr, tuple_awaitable);
    lowest(s_).expires_never();
    keep_ = h.keep_alive();
    if (ec) failed_ = true;
    co_return !ec;
  }
  asio::awaitable<bool> sse(std::string chunk) override {
    if (failed_) co_return false;
    lowest(s_).expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await asio::async_write(s_, bhttp::make_chunk(asio::buffer(chunk)), tuple_awaitable);
    lowest(s_).expires_never();
    if (ec) failed_ = true;
    co_return !ec;
  }
  asio::awaitable<void> end_sse() override {
    if (failed_) co_return;
    lowest(s_).expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await asio::async_write(s_, bhttp::make_chunk_last(), tuple_awaitable);
    lowest(s_).expires_never();
    if (ec) failed_ = true;
  }
  bool keep() const { return keep_ && !failed_; }

 private:
  Stream& s_;
  bool keep_ = false;
  bool failed_ = false;
};
}  // namespace

Listener::Listener(asio::io_context& io, std::string address, unsigned short port, Options opts, Router router)
    : io_(io), address_(std::move(address)), port_(port), opts_(std::move(opts)), router_(std::move(router)),
      acceptor_(io) {
  if (!opts_.tls_cert_file.empty()) {
    ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    try {
      ssl_->use_certificate_chain_file(opts_.tls_cert_file);
      ssl_->use_private_key_file(opts_.tls_key_file, asio::ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      fail(Errc::invalid_argument, fmt::format("--tls-cert/--tls-key: {}", e.what()));
    }
  }
}

void Listener::start() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(address_, ec);
  if (ec) fail(Errc::invalid_argument, fmt::format("invalid listen address \"{}\"", address_));
  tcp::endpoint ep(addr, port_);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail(Errc::unavailable, fmt::format("cannot listen on {}:{}: {}", address_, port_, ec.message()));
  bound_port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), [](std::exception_ptr e) {
    if (e) try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("accept loop ended: {}", ex.what());
      }
  });
}

void Listener::stop_accepting() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> Listener::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(tuple_awaitable);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("accept failed: {}", ec.message());
      asio::steady_timer t(io_, std::chrono::milliseconds(100));
      co_await t.async_wait(tuple_awaitable);
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    auto on_done = [](std::exception_ptr e) {
      if (e) try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::debug("connection ended: {}", ex.what());
        }
    };
    if (ssl_) asio::co_spawn(io_, serve(beast::ssl_stream<beast::tcp_stream>(std::move(sock), *ssl_)), on_done);
    else asio::co_spawn(io_, serve(beast::tcp_stream(std::move(sock))), on_done);
  }
}

template <class Stream>
asio::awaitable<void> Listener::serve(Stream stream) {
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    lowest(stream).expires_after(opts_.read_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
    if (ec) co_return;
  }
  std::string peer;
  {
    boost::system::error_code pec;
    auto a = lowest(stream).socket().remote_endpoint(pec).address();
    // A dual-stack [::] listener sees IPv4 clients as ::ffff:a.b.c.d: count them as a.b.c.d.
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    if (!pec) peer = a.to_string();
  }
  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(opts_.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
    // Idle keep-alive connections get a shorter leash than a request being read.
    lowest(stream).expires_after(first ? opts_.read_timeout : opts_.keepalive_timeout);
    first = false;
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, tuple_awaitable);
    if (ec) {
      if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
        Request dummy;
        dummy.version(11);
        StreamWriter<Stream> w(stream);
        auto res = make_response(dummy,
                                 ec == bhttp::error::body_limit ? bhttp::status::payload_too_large
                                                                : bhttp::status::request_header_fields_too_large,
                                 R"({"error":"request too large"})");
        res.keep_alive(false);
        co_await w.send(std::move(res));
      }
      break;
    }
    lowest(stream).expires_never();
    Request req = parser.release();
    StreamWriter<Stream> w(stream);
    w.peer = peer;
    ++active_;
    bool failed = false;
    try {
      co_await router_(req, w);
    } catch (const std::exception& e) {
      log::error("HTTP handler failed: {}", e.what());
      failed = true;
    }
    // co_await is not allowed inside a catch block.
    if (failed && w.status == 0) {
      auto res_ = make_response(req, bhttp::status::internal_server_error, R"({"error":"internal"})");
      co_await w.send(std::move(res_));
    }
    --active_;
    if (!w.keep() || !acceptor_.is_open()) break;
  }
  boost::system::error_code ec;
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  } else {
    lowest(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(tuple_awaitable);
  }
}

}  // namespace mk::transport::http
