#include "k8s/websocket.hpp"

#include "k8s/status_error.hpp"
#include "k8s/stream.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace mk::k8s {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::use_awaitable;

struct ChannelSocket::Impl {
  std::unique_ptr<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> tls;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> plain;
  beast::flat_buffer rbuf;
  bool closed = false;

  beast::tcp_stream& lowest() {
    if (tls) return beast::get_lowest_layer(*tls);
    return beast::get_lowest_layer(*plain);
  }
};

ChannelSocket::~ChannelSocket() { close(); }

namespace {
template <class WS>
void configure(WS& ws, ApiTransport& t, const std::string& auth, const std::string& protocols,
               std::chrono::milliseconds timeout, const trace::SpanContext& trace) {
  websocket::stream_base::timeout to{};
  to.handshake_timeout = timeout;
  to.idle_timeout = websocket::stream_base::none();  // callers bound streams by their own deadlines
  to.keep_alive_pings = false;
  ws.set_option(to);
  ws.read_message_max(kMaxChannelMessage);
  ws.binary(true);
  ws.auto_fragment(false);
  // Client frames are masked through this buffer; Beast's 4 KiB default cut every 32 KiB
  // port-forward chunk into eight TLS records.
  ws.write_buffer_bytes(64 * 1024);
  ws.set_option(websocket::stream_base::decorator([&t, auth, protocols, trace](websocket::request_type& req) {
    t.set_headers(req, auth, trace);
    req.set(http::field::sec_websocket_protocol, protocols);
  }));
}
}  // namespace

asio::awaitable<std::shared_ptr<ChannelSocket>> ChannelSocket::open(ApiTransport& t, std::string target,
                                                                    std::vector<std::string> protocols,
                                                                    std::string what, std::chrono::milliseconds timeout,
                                                                    trace::SpanContext trace) {
  auto auth = co_await t.authorization();
  auto conn = co_await dial(t, timeout);
  std::shared_ptr<ChannelSocket> s(new ChannelSocket());
  s->impl_ = std::make_unique<Impl>();
  auto& im = *s->impl_;
  std::string offered;
  for (auto& p : protocols) offered += (offered.empty() ? "" : ", ") + p;
  if (conn->tls)
    im.tls = std::make_unique<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>(std::move(*conn->tls));
  else im.plain = std::make_unique<websocket::stream<beast::tcp_stream>>(std::move(*conn->plain));
  websocket::response_type res;
  std::string host = t.host_header(), path = api_base_path(t) + target;
  boost::system::error_code ec;
  if (im.tls) {
    configure(*im.tls, t, auth, offered, timeout, trace);
    std::tie(ec) = co_await im.tls->async_handshake(res, host, path, asio::as_tuple(use_awaitable));
  } else {
    configure(*im.plain, t, auth, offered, timeout, trace);
    std::tie(ec) = co_await im.plain->async_handshake(res, host, path, asio::as_tuple(use_awaitable));
  }
  if (ec) {
    s->close();
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    if (res.result_int() != 0 && res.result_int() != 101) {
      Response r;
      r.status = res.result_int();
      r.content_type = std::string(res[http::field::content_type]);
      r.body = res.body();
      throw_status(r, what);
    }
    if (ec == beast::error::timeout)
      fail(Errc::timeout,
           fmt::format("{}: the API server did not upgrade within {} s", what, timeout.count() / 1000.0));
    fail(Errc::unavailable, fmt::format("{}: WebSocket upgrade failed: {}", what, ec.message()));
  }
  s->protocol_ = std::string(res[http::field::sec_websocket_protocol]);
  co_return s;
}

asio::awaitable<std::optional<std::string>> ChannelSocket::read() {
  auto& im = *impl_;
  im.rbuf.clear();
  boost::system::error_code ec;
  if (im.tls) std::tie(ec, std::ignore) = co_await im.tls->async_read(im.rbuf, asio::as_tuple(use_awaitable));
  else std::tie(ec, std::ignore) = co_await im.plain->async_read(im.rbuf, asio::as_tuple(use_awaitable));
  // Beast answers the server's close frame while reading; when the server has already dropped
  // the TCP connection that answer fails with EPIPE/ECONNRESET: still a normal end.
  if (ec == websocket::error::closed || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe || (ec && im.closed))
    co_return std::nullopt;
  if (ec) throw boost::system::system_error(ec);
  co_return beast::buffers_to_string(im.rbuf.data());
}

asio::awaitable<void> ChannelSocket::write(std::uint8_t channel, std::string_view data) {
  std::string msg;
  msg.reserve(data.size() + 1);
  msg.push_back(static_cast<char>(channel));
  msg.append(data);
  auto& im = *impl_;
  if (im.tls) co_await im.tls->async_write(asio::buffer(msg), use_awaitable);
  else co_await im.plain->async_write(asio::buffer(msg), use_awaitable);
}

asio::awaitable<void> ChannelSocket::write_binary(std::string_view data) {
  auto& im = *impl_;
  if (im.tls) co_await im.tls->async_write(asio::buffer(data), use_awaitable);
  else co_await im.plain->async_write(asio::buffer(data), use_awaitable);
}

asio::awaitable<void> ChannelSocket::close_gracefully() {
  auto& im = *impl_;
  if (im.closed) co_return;
  im.lowest().expires_after(std::chrono::seconds(2));
  boost::system::error_code ec;
  if (im.tls) std::tie(ec) = co_await im.tls->async_close(websocket::close_code::normal, asio::as_tuple(use_awaitable));
  else std::tie(ec) = co_await im.plain->async_close(websocket::close_code::normal, asio::as_tuple(use_awaitable));
  close();
}

void ChannelSocket::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  boost::system::error_code ec;
  auto& sock = impl_->lowest().socket();
  if (sock.is_open()) {
    sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }
}

}  // namespace mk::k8s
