// WebSocket channel streams against a hostile API server: a fake server on a loopback socket
// answers the upgrade and then writes the input's bytes (frames as the server would send
// them) and hangs up. The client side is the real code: exec_in_pod (ChannelSocket, the
// v5/v4 channel demultiplexer, the exit Status parser) or the v4.channel.k8s.io port-forward
// tunnel (port prefixes, the error channel). In raw mode the input is the server's whole answer,
// upgrade response included, so refused upgrades (a Status body) are parsed too.
// First byte: bits 0-1 mode (0 exec v5, 1 exec v4, 2 port-forward, 3 raw exec), bit 2 stdin.
#include "k8s/api_transport.hpp"
#include "k8s/portforward_tunnel.hpp"
#include "k8s/stream_exec.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {
asio::io_context* g_io;
tcp::acceptor* g_acceptor;
mk::k8s::ApiTransport* g_transport;

std::string header_value(const std::string& head, std::string_view name) {
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower.find(std::string(name) + ":");
  if (at == std::string::npos) return {};
  auto start = head.find_first_not_of(' ', at + name.size() + 1);
  auto end = head.find("\r\n", start);
  return head.substr(start, end - start);
}

asio::awaitable<void> fake_server(std::string bytes, int mode) {
  auto [ec, sock] = co_await g_acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
  if (ec) std::abort();
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    auto [rec, n] = co_await sock.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    head.append(buf, n);
  }
  if (mode != 3) {
    boost::beast::websocket::detail::sec_ws_accept_type accept;
    boost::beast::websocket::detail::make_sec_ws_accept(accept, header_value(head, "sec-websocket-key"));
    const char* protocol = mode == 0 ? "v5.channel.k8s.io" : "v4.channel.k8s.io";
    bytes =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        std::string(accept.data(), accept.size()) + "\r\nSec-WebSocket-Protocol: " + protocol + "\r\n\r\n" + bytes;
  }
  [[maybe_unused]] auto [wec, wn] =
      co_await asio::async_write(sock, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  // Take whatever the client still says (stdin, a close frame) until it hangs up.
  for (;;) {
    auto [rec, n] = co_await sock.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (rec) break;
  }
}

asio::awaitable<void> client(int mode, bool with_stdin, bool* done) {
  try {
    if (mode == 2) {
      mk::k8s::TunnelTarget target{"ns", "pod", 8080, "port-forward fuzz", 10s};
      auto tunnel = co_await mk::k8s::open_websocket_tunnel(*g_transport, target, false);
      if (with_stdin) co_await tunnel->write("hello");
      for (;;) {
        auto data = co_await tunnel->read();
        if (!data) break;
      }
      (void)tunnel->error();
      tunnel->close();
    } else {
      mk::k8s::ExecOptions o;
      o.ns = "ns";
      o.pod = "pod";
      o.command = {"sh", "-c", "true"};
      if (with_stdin) o.stdin_data = "input";
      o.timeout = 10s;
      o.max_stdout = 64;
      o.max_stderr = 64;
      auto r = co_await mk::k8s::exec_in_pod(*g_transport, o);
      if (r.out.size() > 64 || r.err.size() > 64) std::abort();
      if (r.timed_out) std::abort();  // nothing here should take 10 s
    }
  } catch (const mk::Error&) {
  } catch (const boost::system::system_error&) {
  }
  *done = true;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mk::log::set_level(static_cast<mk::log::Level>(4));  // above every level: quiet
  g_io = new asio::io_context;
  g_acceptor = new tcp::acceptor(*g_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  mk::k8s::RestConfig cfg;
  cfg.context = "fuzz";
  cfg.cluster.server = "http://127.0.0.1:" + std::to_string(g_acceptor->local_endpoint().port());
  g_transport = new mk::k8s::ApiTransport(g_io->get_executor(), cfg, {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  int mode = data[0] & 3;
  bool with_stdin = (data[0] & 4) != 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool done = false;
  asio::co_spawn(*g_io, fake_server(std::move(bytes), mode), asio::detached);
  asio::co_spawn(*g_io, client(mode, with_stdin, &done), asio::detached);
  g_io->run();
  g_io->restart();
  if (!done) std::abort();
  return 0;
}
