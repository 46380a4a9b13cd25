// The SPDY port-forward client against an in-process fake server (plain HTTP) that enforces
// SPDY/3.1 flow control (it never sends past the 64 KiB window without a WINDOW_UPDATE), then
// takes a second forwarded connection on the same SPDY connection.
#include "k8s/api_transport.hpp"
#include "k8s/portforward_tunnel.hpp"
#include "k8s/spdy.hpp"
#include "k8s/spdy_session.hpp"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <map>

namespace asio = boost::asio;
namespace spdy = mk::k8s::spdy;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t kPayload = 256 * 1024;

struct Frame {
  spdy::FrameHeader h;
  std::string payload;
};

asio::awaitable<Frame> read_frame(tcp::socket& s, std::string& buf) {
  auto need = [&](std::size_t n) -> asio::awaitable<void> {
    while (buf.size() < n) {
      char tmp[8192];
      auto got = co_await s.async_read_some(asio::buffer(tmp), use_awaitable);
      buf.append(tmp, got);
    }
  };
  co_await need(8);
  auto h = spdy::parse_frame_header(buf);
  co_await need(8 + h.length);
  Frame f{h, buf.substr(8, h.length)};
  buf.erase(0, 8 + h.length);
  co_return f;
}

struct ServerLog {
  std::map<std::string, std::string> error_headers, data_headers;
  bool ping_echoed = false, error_fin = false;
  std::string from_client;
  std::uint32_t window_updates = 0;
  std::vector<std::uint32_t> reset_streams;
  std::pair<std::uint32_t, std::uint32_t> second_ids{0, 0};
  int accepted = 0;
  std::string failure;
};

asio::awaitable<void> fake_server(tcp::acceptor& acc, ServerLog& log) {
  try {
    auto s = co_await acc.async_accept(use_awaitable);
    ++log.accepted;
    // Any further connection is counted (the client must not make one) and dropped.
    asio::co_spawn(
        acc.get_executor(),
        [](tcp::acceptor& a, ServerLog& l) -> asio::awaitable<void> {
          for (;;) {
            auto [ec, extra] = co_await a.async_accept(asio::as_tuple(use_awaitable));
            if (ec) co_return;
            ++l.accepted;
          }
        }(acc, log),
        asio::detached);
    std::string buf;
    auto n = co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", use_awaitable);
    auto request = buf.substr(0, n);
    buf.erase(0, n);
    if (request.rfind("POST /api/v1/namespaces/ns/pods/pod/portforward", 0) != 0 ||
        request.find("Upgrade: SPDY/3.1") == std::string::npos ||
        request.find("X-Stream-Protocol-Version: portforward.k8s.io") == std::string::npos)
      throw std::runtime_error("unexpected upgrade request: " + request);
    // The 101 and the first frames in one write: the client must keep the bytes after the header.
    std::string hello = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n";
    hello += spdy::control_frame(spdy::kSettings, 0, std::string("\0\0\0\0", 4));
    hello += spdy::ping(2);
    co_await asio::async_write(s, asio::buffer(hello), use_awaitable);

    spdy::Inflater inf;
    spdy::Deflater def;
    int syns = 0;
    while (syns < 2) {
      auto f = co_await read_frame(s, buf);
      if (f.h.control && f.h.type == spdy::kPing) log.ping_echoed = spdy::read_u32(f.payload, 0) == 2;
      if (!f.h.control || f.h.type != spdy::kSynStream) continue;
      auto id = spdy::read_u32(f.payload, 0);
      std::map<std::string, std::string> hs;
      for (auto& [k, v] : spdy::decode_header_block(inf.decompress(f.payload.substr(10)))) hs[k] = v;
      (id == 1 ? log.error_headers : log.data_headers) = hs;
      ++syns;
    }
    // Data stream first, with data before the error stream's reply (spdystream handles streams
    // on separate goroutines, so this order happens): the client must keep it.
    std::string replies;
    for (std::uint32_t id : {3u, 1u}) {
      std::string p = {0, 0, 0, static_cast<char>(id)};
      p += def.compress(spdy::encode_header_block({}));
      replies += spdy::control_frame(spdy::kSynReply, 0, p);
      if (id == 3) replies += spdy::data_frame(3, "early");
    }
    co_await asio::async_write(s, asio::buffer(replies), use_awaitable);

    // Send kPayload on the data stream within the window; read what the client sends meanwhile.
    std::int64_t window = spdy::kDefaultWindow;
    std::size_t sent = 0;
    while (sent < kPayload || log.from_client.size() < 5 || !log.error_fin || !log.ping_echoed) {
      if (sent < kPayload && window > 0) {
        auto n = std::min<std::size_t>({kPayload - sent, 16 * 1024, static_cast<std::size_t>(window)});
        std::string chunk(n, static_cast<char>('a' + (sent / 1024) % 26));
        auto frame = spdy::data_frame(3, chunk);
        co_await asio::async_write(s, asio::buffer(frame), use_awaitable);
        sent += n;
        window -= static_cast<std::int64_t>(n);
        continue;
      }
      auto f = co_await read_frame(s, buf);
      if (f.h.control && f.h.type == spdy::kWindowUpdate && spdy::read_u32(f.payload, 0) == 3) {
        window += spdy::read_u32(f.payload, 4);
        ++log.window_updates;
      } else if (f.h.control && f.h.type == spdy::kPing) {
        log.ping_echoed = spdy::read_u32(f.payload, 0) == 2;
      } else if (!f.h.control && f.h.stream_id == 3) {
        log.from_client += f.payload;
      } else if (!f.h.control && f.h.stream_id == 1 && (f.h.flags & spdy::kFlagFin)) {
        log.error_fin = true;
      }
    }
    // The pod side fails: error text, then both streams end.
    std::string bye = spdy::data_frame(3, "", spdy::kFlagFin) + spdy::data_frame(1, "failed to dial 10.0.0.1:80") +
                      spdy::data_frame(1, "", spdy::kFlagFin);
    co_await asio::async_write(s, asio::buffer(bye), use_awaitable);

    // The second forwarded connection comes on the same connection: streams 5 and 7, the next
    // requestid. The client resets the first data stream when it is done with it.
    std::uint32_t second_error = 0, second_data = 0;
    while (second_error == 0 || second_data == 0) {
      auto f = co_await read_frame(s, buf);
      if (f.h.control && f.h.type == spdy::kRstStream) log.reset_streams.push_back(spdy::read_u32(f.payload, 0));
      if (!f.h.control || f.h.type != spdy::kSynStream) continue;
      auto id = spdy::read_u32(f.payload, 0);
      std::map<std::string, std::string> hs;
      for (auto& [k, v] : spdy::decode_header_block(inf.decompress(f.payload.substr(10)))) hs[k] = v;
      if (hs["requestid"] != "1") throw std::runtime_error("second pair has requestid " + hs["requestid"]);
      (hs["streamtype"] == "error" ? second_error : second_data) = id;
    }
    log.second_ids = {second_error, second_data};
    replies.clear();
    for (std::uint32_t id : {second_error, second_data}) {
      std::string p = {0, 0, 0, static_cast<char>(id)};
      p += def.compress(spdy::encode_header_block({}));
      replies += spdy::control_frame(spdy::kSynReply, 0, p);
    }
    co_await asio::async_write(s, asio::buffer(replies), use_awaitable);
    // Read the request up to the client's half-close, then answer and end cleanly.
    std::string second_request;
    for (;;) {
      auto f = co_await read_frame(s, buf);
      if (f.h.control || f.h.stream_id != second_data) continue;
      second_request += f.payload;
      if (f.h.flags & spdy::kFlagFin) break;
    }
    auto answer = spdy::data_frame(second_data, "echo:" + second_request, spdy::kFlagFin) +
                  spdy::data_frame(second_error, "", spdy::kFlagFin);
    co_await asio::async_write(s, asio::buffer(answer), use_awaitable);
    // Stay open until the client hangs up.
    for (;;) co_await read_frame(s, buf);
  } catch (const boost::system::system_error&) {
  } catch (const std::exception& e) {
    log.failure = e.what();
  }
}

struct ClientLog {
  std::string received, error, failure, second_received, second_error;
  bool ended = false, second_ended = false;
};

asio::awaitable<void> client(mk::k8s::ApiTransport& t, ClientLog& log, tcp::acceptor& acc) {
  std::shared_ptr<mk::k8s::SpdySession> session;
  try {
    mk::k8s::TunnelTarget target{"ns", "pod", 8080, "port-forward to pod \"pod\"", std::chrono::seconds(5)};
    session = co_await mk::k8s::open_spdy_session(t, target, mk::k8s::TunnelProtocol::spdy);
    auto tunnel = co_await session->open(8080, std::chrono::seconds(5));
    co_await tunnel->write("hello");
    for (;;) {
      auto d = co_await tunnel->read();
      if (!d) break;
      log.received += *d;
    }
    log.ended = true;
    log.error = tunnel->error();
    tunnel->close();

    // A second forwarded connection: same session, new streams; half-close, then read the answer.
    auto second = co_await session->open(8080, std::chrono::seconds(5));
    co_await second->write("second");
    EXPECT_TRUE(second->shutdown_write());
    for (;;) {
      auto d = co_await second->read();
      if (!d) break;
      log.second_received += *d;
    }
    log.second_ended = true;
    log.second_error = second->error();
    second->close();
  } catch (const std::exception& e) {
    log.failure = e.what();
  }
  if (session) session->close();
  acc.close();
}
}  // namespace

TEST(PortForwardSpdy, MultiplexedStreamsFlowControlPingHalfCloseAndErrorStream) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  mk::k8s::RestConfig cfg;
  cfg.cluster.server = "http://127.0.0.1:" + std::to_string(acc.local_endpoint().port());
  mk::k8s::ApiTransport transport(io.get_executor(), cfg, {});
  ServerLog slog;
  ClientLog clog;
  asio::co_spawn(io, fake_server(acc, slog), asio::detached);
  asio::co_spawn(io, client(transport, clog, acc), asio::detached);
  io.run_for(std::chrono::seconds(20));

  EXPECT_EQ(slog.failure, "");
  EXPECT_EQ(clog.failure, "");
  EXPECT_EQ(slog.error_headers["streamtype"], "error");
  EXPECT_EQ(slog.data_headers["streamtype"], "data");
  EXPECT_EQ(slog.data_headers["port"], "8080");
  EXPECT_EQ(slog.error_headers["requestid"], slog.data_headers["requestid"]);
  EXPECT_TRUE(slog.ping_echoed);
  EXPECT_TRUE(slog.error_fin);
  EXPECT_EQ(slog.from_client, "hello");
  // 256 KiB through a 64 KiB window needs several updates.
  EXPECT_GE(slog.window_updates, 3u);
  EXPECT_EQ(clog.received.size(), kPayload + 5);
  EXPECT_EQ(clog.received.substr(0, 6), "earlya");
  EXPECT_TRUE(clog.ended);
  EXPECT_EQ(clog.error, "failed to dial 10.0.0.1:80");
  // The first data stream was reset once done with; the second pair used the next ids on the
  // same connection, and its answer after the half-close arrived whole.
  EXPECT_NE(std::find(slog.reset_streams.begin(), slog.reset_streams.end(), 3u), slog.reset_streams.end());
  EXPECT_EQ(slog.second_ids, (std::pair<std::uint32_t, std::uint32_t>{5, 7}));
  EXPECT_TRUE(clog.second_ended);
  EXPECT_EQ(clog.second_received, "echo:second");
  EXPECT_EQ(clog.second_error, "");
  EXPECT_EQ(slog.accepted, 1);
}
