// Dialers for port-forward over SPDY/3.1 (portforward.k8s.io), as client-go speaks it: a raw
// HTTP/1.1 upgrade, or SPDY tunnelled in WebSocket binary messages (SPDY/3.1+portforward.k8s.io,
// kubectl's default since 1.31). Either way the result is a SpdySession.
#include "k8s/portforward.hpp"
#include "k8s/portforward_tunnel.hpp"
#include "k8s/spdy_session.hpp"
#include "k8s/status_error.hpp"
#include "k8s/stream.hpp"
#include "k8s/websocket.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include <utility>

namespace mk::k8s {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;

namespace {
constexpr const char* kTunnelProtocol = "SPDY/3.1+portforward.k8s.io";
constexpr std::size_t kMaxTunnelMessage = 64 * 1024;  // WebSocket messages we send

template <class Stream>
asio::awaitable<void> upgrade(Stream& s, beast::flat_buffer& buf, http::request<http::empty_body>& req,
                              http::response_parser<http::string_body>& p) {
  co_await http::async_write(s, req, use_awaitable);
  co_await http::async_read(s, buf, p, use_awaitable);
}

// The upgraded TCP/TLS connection itself.
class RawPipe : public SpdyPipe {
 public:
  RawPipe(std::unique_ptr<ApiConnection> conn, std::string leftover)
      : conn_(std::move(conn)), leftover_(std::move(leftover)) {}
  ~RawPipe() override { conn_->close(); }

  asio::awaitable<bool> read(std::string& out) override {
    if (!leftover_.empty()) {  // bytes that came with the 101
      out += std::exchange(leftover_, std::string());
      co_return true;
    }
    char tmp[16 * 1024];
    boost::system::error_code ec;
    std::size_t got = 0;
    if (conn_->tls)
      std::tie(ec, got) = co_await conn_->tls->async_read_some(asio::buffer(tmp), asio::as_tuple(use_awaitable));
    else std::tie(ec, got) = co_await conn_->plain->async_read_some(asio::buffer(tmp), asio::as_tuple(use_awaitable));
    out.append(tmp, got);
    if (!ec) co_return true;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted)
      co_return got > 0;
    throw boost::system::system_error(ec);
  }

  asio::awaitable<void> write(std::string_view bytes) override {
    if (conn_->tls) co_await asio::async_write(*conn_->tls, asio::buffer(bytes), use_awaitable);
    else co_await asio::async_write(*conn_->plain, asio::buffer(bytes), use_awaitable);
  }

  void close() override { conn_->close(); }

 private:
  std::unique_ptr<ApiConnection> conn_;
  std::string leftover_;
};

// SPDY bytes in WebSocket binary messages; message boundaries mean nothing.
class WebSocketPipe : public SpdyPipe {
 public:
  explicit WebSocketPipe(std::shared_ptr<ChannelSocket> ws) : ws_(std::move(ws)) {}
  ~WebSocketPipe() override { ws_->close(); }

  asio::awaitable<bool> read(std::string& out) override {
    auto msg = co_await ws_->read();
    if (!msg) co_return false;
    out += *msg;
    co_return true;
  }

  asio::awaitable<void> write(std::string_view bytes) override {
    while (!bytes.empty()) {
      auto chunk = bytes.substr(0, std::min(bytes.size(), kMaxTunnelMessage));
      co_await ws_->write_binary(chunk);
      bytes.remove_prefix(chunk.size());
    }
  }

  void close() override { ws_->close(); }

 private:
  std::shared_ptr<ChannelSocket> ws_;
};

asio::awaitable<std::unique_ptr<SpdyPipe>> dial_raw(ApiTransport& t, TunnelTarget target) {
  auto auth = co_await t.authorization();
  auto conn = co_await dial(t, target.timeout);
  http::request<http::empty_body> req{http::verb::post,
                                      api_base_path(t) + portforward_target(target.ns, target.pod, target.port), 11};
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "SPDY/3.1");
  req.set("X-Stream-Protocol-Version", "portforward.k8s.io");
  t.set_headers(req, auth, target.trace);
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.header_limit(64 * 1024);
  p.body_limit(64 * 1024);
  auto& low = conn->lowest();
  low.expires_after(target.timeout);
  boost::system::error_code ec;
  try {
    if (conn->tls) co_await upgrade(*conn->tls, buf, req, p);
    else co_await upgrade(*conn->plain, buf, req, p);
  } catch (const boost::system::system_error& e) {
    ec = e.code();
  }
  // A refusal may come without a body and end with the connection: use what was parsed.
  if (ec && !p.is_header_done()) {
    conn->close();
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    if (ec == beast::error::timeout)
      fail(Errc::timeout,
           fmt::format("{}: the API server did not upgrade within {} s", target.what, target.timeout.count() / 1000.0));
    fail(Errc::unavailable, fmt::format("{}: SPDY upgrade failed: {}", target.what, ec.message()));
  }
  auto& res = p.get();
  if (res.result_int() != 101) {
    conn->close();
    Response r;
    r.status = res.result_int();
    r.content_type = std::string(res[http::field::content_type]);
    r.body = res.body();
    throw_status(r, target.what);
  }
  low.expires_never();  // the session's PINGs notice a dead connection
  auto leftover = beast::buffers_to_string(buf.data());
  co_return std::make_unique<RawPipe>(std::move(conn), std::move(leftover));
}

asio::awaitable<std::unique_ptr<SpdyPipe>> dial_websocket(ApiTransport& t, TunnelTarget target) {
  std::vector<std::string> protocols{kTunnelProtocol};  // not braced inside co_await (g++ 12)
  // No ?ports=: the streams name their port, as with kubectl.
  auto path = fmt::format("/api/v1/namespaces/{}/pods/{}/portforward", url_encode(target.ns), url_encode(target.pod));
  auto ws = co_await ChannelSocket::open(t, std::move(path), protocols, target.what, target.timeout, target.trace);
  if (ws->protocol() != kTunnelProtocol) {
    // Something behind the API server (a kubelet with its own WebSocket handler) upgraded to
    // another protocol: not a tunnel.
    ws->close();
    fail(Errc::unavailable,
         fmt::format("{}: the WebSocket upgrade chose protocol \"{}\", not {}", target.what, ws->protocol(),
                     kTunnelProtocol),
         {{"unsupportedProtocol", ws->protocol()}});
  }
  co_return std::make_unique<WebSocketPipe>(std::move(ws));
}
}  // namespace

asio::awaitable<std::shared_ptr<SpdySession>> open_spdy_session(ApiTransport& t, TunnelTarget target,
                                                                TunnelProtocol protocol) {
  std::unique_ptr<SpdyPipe> pipe;
  if (protocol == TunnelProtocol::websocket) pipe = co_await dial_websocket(t, target);
  else pipe = co_await dial_raw(t, target);
  co_return SpdySession::start(t.executor(), std::move(pipe), target.what);
}

}  // namespace mk::k8s
