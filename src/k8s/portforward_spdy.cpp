// Port-forward over SPDY/3.1 (portforward.k8s.io), as client-go speaks it: an HTTP/1.1 upgrade,
// then per forwarded connection an error stream and a data stream sharing one requestid. Each
// tunnel has its own connection, so stream ids are always 1 (error) and 3 (data).
#include "k8s/portforward.hpp"
#include "k8s/portforward_tunnel.hpp"
#include "k8s/spdy.hpp"
#include "k8s/status_error.hpp"
#include "k8s/stream.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
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
constexpr std::uint32_t kErrorStream = 1, kDataStream = 3;
constexpr std::size_t kMaxWriteChunk = 32 * 1024;  // what client-go sends per frame
constexpr std::size_t kMaxErrorText = 4096;
constexpr std::uint32_t kRefusedStream = 3;  // RST_STREAM status
// After the data stream ends, how long the error text may take to follow.
constexpr auto kDrainTimeout = std::chrono::seconds(5);

template <class Stream>
asio::awaitable<void> upgrade(Stream& s, beast::flat_buffer& buf, http::request<http::empty_body>& req,
                              http::response_parser<http::string_body>& p) {
  co_await http::async_write(s, req, use_awaitable);
  co_await http::async_read(s, buf, p, use_awaitable);
}

class SpdyTunnel : public PortTunnel {
 public:
  SpdyTunnel(std::unique_ptr<ApiConnection> conn, std::string leftover, std::string what)
      : conn_(std::move(conn)), in_(std::move(leftover)), what_(std::move(what)),
        write_cv_(conn_->lowest().get_executor()) {
    write_cv_.expires_at(asio::steady_timer::time_point::max());  // a condition variable: woken by cancel()
  }
  ~SpdyTunnel() override { shut(); }

  // Opens the error and data streams and waits (bounded by the caller's socket timeout) for the
  // server to accept both: data sent before its SYN_REPLY would be dropped by spdystream.
  asio::awaitable<void> open_streams(int port) {
    auto headers = [port](const char* type) {
      return spdy::encode_header_block({{"streamtype", type}, {"port", std::to_string(port)}, {"requestid", "0"}});
    };
    // Named first: no call temporaries inside a co_await expression (g++ 12).
    auto err_syn = spdy::syn_stream(kErrorStream, deflate_.compress(headers("error")));
    co_await send(std::move(err_syn));
    auto data_syn = spdy::syn_stream(kDataStream, deflate_.compress(headers("data")));
    co_await send(std::move(data_syn));
    while (!(replied_[0] && replied_[1])) {
      if (conn_ended_ || done_[1]) {
        // The server gave up (e.g. it could not dial the pod port): its reason follows on the error stream.
        co_await drain();
        auto why = error_.empty() ? std::string("the server closed the connection") : error_;
        fail(Errc::unavailable, fmt::format("{}: SPDY stream setup failed: {}", what_, why));
      }
      // The server may start on the data stream before it has replied to the error stream.
      auto got = co_await next_event();
      if (got) early_ += *got;
      if (early_.size() > spdy::kMaxDataPayload)
        fail(Errc::unavailable, fmt::format("{}: SPDY: too much data before the streams were set up", what_));
    }
    // The error stream only carries server -> client: half-close our side at once.
    auto fin = spdy::data_frame(kErrorStream, {}, spdy::kFlagFin);
    co_await send(std::move(fin));
  }

  asio::awaitable<std::optional<std::string>> read() override {
    if (!early_.empty()) co_return std::exchange(early_, std::string());
    while (!conn_ended_ && !done_[1]) {
      auto got = co_await next_event();
      if (got) co_return got;
    }
    co_await drain();
    co_return std::nullopt;
  }

  asio::awaitable<void> write(std::string_view data) override {
    while (!data.empty()) {
      auto n = std::min(data.size(), kMaxWriteChunk);
      auto frame = spdy::data_frame(kDataStream, data.substr(0, n));
      co_await send(std::move(frame));
      data.remove_prefix(n);
    }
  }

  void close() override { shut(); }

 private:
  void shut() {
    if (closed_) return;
    closed_ = true;
    conn_->close();
    write_cv_.cancel();
  }

  // Frames are written whole and one at a time; the reader also writes (PING, WINDOW_UPDATE).
  asio::awaitable<void> send(std::string frame) {
    while (writing_ && !closed_) co_await write_cv_.async_wait(asio::as_tuple(use_awaitable));
    if (closed_) throw boost::system::system_error(asio::error::operation_aborted);
    writing_ = true;
    boost::system::error_code ec;
    if (conn_->tls)
      std::tie(ec, std::ignore) =
          co_await asio::async_write(*conn_->tls, asio::buffer(frame), asio::as_tuple(use_awaitable));
    else
      std::tie(ec, std::ignore) =
          co_await asio::async_write(*conn_->plain, asio::buffer(frame), asio::as_tuple(use_awaitable));
    writing_ = false;
    write_cv_.cancel();
    if (ec) throw boost::system::system_error(ec);
  }

  // Reads on (bounded) until the error stream is done too, then settles error_.
  asio::awaitable<void> drain() {
    if (!draining_) {
      draining_ = true;
      conn_->lowest().expires_after(kDrainTimeout);
    }
    while (!conn_ended_ && !done_[0]) co_await next_event();
    if (!error_text_.empty()) error_ = error_text_;
    else if (error_.empty()) error_ = reset_reason_;
  }

  // Makes at least `n` unread bytes available; false at the end of the connection.
  asio::awaitable<bool> fill(std::size_t n) {
    while (in_.size() - pos_ < n) {
      if (pos_ > 0) {
        in_.erase(0, pos_);
        pos_ = 0;
      }
      char tmp[16 * 1024];
      boost::system::error_code ec;
      std::size_t got = 0;
      if (conn_->tls)
        std::tie(ec, got) = co_await conn_->tls->async_read_some(asio::buffer(tmp), asio::as_tuple(use_awaitable));
      else std::tie(ec, got) = co_await conn_->plain->async_read_some(asio::buffer(tmp), asio::as_tuple(use_awaitable));
      in_.append(tmp, got);
      if (ec) {
        if (ec == beast::error::timeout && draining_) co_return false;
        if (ec == beast::error::timeout)
          fail(Errc::timeout, fmt::format("{}: the server did not answer in time", what_));
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
            ec == asio::error::operation_aborted || closed_)
          co_return in_.size() - pos_ >= n;
        throw boost::system::system_error(ec);
      }
    }
    co_return true;
  }

  // Reads and handles one frame: data for the caller, or nothing (control frame, error text,
  // end of a stream or of the connection: see done_ and conn_ended_).
  asio::awaitable<std::optional<std::string>> next_event() {
    if (!co_await fill(spdy::kFrameHeaderSize)) co_return end("");
    auto h = spdy::parse_frame_header(std::string_view(in_).substr(pos_, spdy::kFrameHeaderSize));
    if (!co_await fill(spdy::kFrameHeaderSize + h.length)) co_return end("the connection closed mid-frame");
    if (h.control && h.type == spdy::kPing && h.length != 4)
      fail(Errc::unavailable, fmt::format("{}: SPDY: bad PING", what_));
    std::string payload = in_.substr(pos_ + spdy::kFrameHeaderSize, h.length);
    pos_ += spdy::kFrameHeaderSize + h.length;
    if (h.control) {
      co_await on_control(h, payload);
      co_return std::nullopt;
    }
    auto data = co_await on_data(h, std::move(payload));
    co_return data;
  }

  std::optional<std::string> end(std::string why) {
    conn_ended_ = true;
    if (error_.empty() && !why.empty()) error_ = std::move(why);
    return std::nullopt;
  }

  asio::awaitable<std::optional<std::string>> on_data(const spdy::FrameHeader& h, std::string payload) {
    bool fin = (h.flags & spdy::kFlagFin) != 0;
    // Hand the window back as we consume (per stream and for the session): a peer that honours
    // flow control stalls at 64 KiB otherwise. The caller takes one frame at a time, so this
    // also bounds what we buffer.
    std::string update;
    auto give_back = [&update](std::uint32_t id, std::uint32_t& unacked, std::uint32_t n) {
      unacked += n;
      if (unacked < spdy::kDefaultWindow / 2) return;
      update += spdy::window_update(id, unacked);
      unacked = 0;
    };
    give_back(0, unacked_session_, h.length);
    if (h.stream_id == kErrorStream || h.stream_id == kDataStream)
      give_back(h.stream_id, unacked_[h.stream_id == kDataStream], h.length);
    if (!update.empty()) co_await send(std::move(update));
    if (h.stream_id == kErrorStream) {
      error_text_.append(payload.substr(0, kMaxErrorText - std::min(kMaxErrorText, error_text_.size())));
      if (fin) done_[0] = true;
      co_return std::nullopt;
    }
    if (h.stream_id != kDataStream) co_return std::nullopt;
    if (fin) done_[1] = true;
    if (payload.empty()) co_return std::nullopt;
    co_return payload;
  }

  asio::awaitable<void> on_control(const spdy::FrameHeader& h, const std::string& p) {
    switch (h.type) {
      case spdy::kSynReply:
      case spdy::kHeaders: {
        auto id = spdy::read_u32(p, 0) & 0x7fffffff;
        // Always inflate: the decompression context spans the whole connection.
        inflate_.decompress(std::string_view(p).substr(4));
        if (h.type == spdy::kSynReply && (id == kErrorStream || id == kDataStream)) replied_[id == kDataStream] = true;
        if ((h.flags & spdy::kFlagFin) != 0 && (id == kErrorStream || id == kDataStream))
          done_[id == kDataStream] = true;
        break;
      }
      case spdy::kSynStream: {  // server push: not part of port-forward
        auto id = spdy::read_u32(p, 0) & 0x7fffffff;
        if (p.size() < 10) fail(Errc::unavailable, fmt::format("{}: SPDY: short SYN_STREAM", what_));
        inflate_.decompress(std::string_view(p).substr(10));
        auto rst = spdy::rst_stream(id, kRefusedStream);
        co_await send(std::move(rst));
        break;
      }
      case spdy::kRstStream: {
        auto id = spdy::read_u32(p, 0) & 0x7fffffff;
        auto status = spdy::read_u32(p, 4);
        if (id == kErrorStream || id == kDataStream) {
          done_[id == kDataStream] = true;
          if (reset_reason_.empty())
            reset_reason_ = fmt::format("the server reset the {} stream (SPDY status {})",
                                        id == kDataStream ? "data" : "error", status);
        }
        break;
      }
      case spdy::kPing: {
        // We never ping, so every PING is the server's: echo it.
        auto pong = spdy::control_frame(spdy::kPing, 0, p);
        co_await send(std::move(pong));
        break;
      }
      case spdy::kGoAway: {
        auto status = p.size() >= 8 ? spdy::read_u32(p, 4) : 0;
        end(status == 0 ? std::string() : fmt::format("the server ended the SPDY session (GOAWAY status {})", status));
        break;
      }
      default: break;  // SETTINGS, WINDOW_UPDATE (spdystream sends neither usefully), unknown: ignore
    }
  }

  std::unique_ptr<ApiConnection> conn_;
  std::string in_;
  std::size_t pos_ = 0;
  std::string what_;
  asio::steady_timer write_cv_;
  spdy::Deflater deflate_;
  spdy::Inflater inflate_;
  bool writing_ = false, closed_ = false, conn_ended_ = false, draining_ = false;
  bool replied_[2] = {false, false}, done_[2] = {false, false};  // error, data
  std::string reset_reason_;
  std::uint32_t unacked_[2] = {0, 0}, unacked_session_ = 0;  // received, not yet given back
  std::string early_;                                        // data that came before setup finished
  std::string error_text_;
};
}  // namespace

asio::awaitable<std::shared_ptr<PortTunnel>> open_spdy_tunnel(ApiTransport& t, TunnelTarget target, bool probe) {
  auto auth = co_await t.authorization();
  auto conn = co_await dial(t, target.timeout);
  http::request<http::empty_body> req{http::verb::post,
                                      api_base_path(t) + portforward_target(target.ns, target.pod, target.port), 11};
  req.set(http::field::host, api_host_header(t));
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "SPDY/3.1");
  req.set("X-Stream-Protocol-Version", "portforward.k8s.io");
  set_api_headers(t, req, auth);
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
  if (probe) {
    conn->close();
    co_return nullptr;
  }
  auto leftover = beast::buffers_to_string(buf.data());
  auto tunnel = std::make_shared<SpdyTunnel>(std::move(conn), std::move(leftover), target.what);
  co_await tunnel->open_streams(target.port);
  low.expires_never();
  co_return tunnel;
}

}  // namespace mk::k8s
