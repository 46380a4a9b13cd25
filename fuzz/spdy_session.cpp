// The port-forward SPDY session against a hostile API server. The input is a script of
// operations: server frames (raw bytes, or well-formed frames built from the input with the
// server's own zlib context, so replies and pushes get past the compression), and local ones
// (open a forwarded connection, write to it, half-close or close it). The io_context runs
// until quiet after each step; at the end the server closes the connection, and every
// coroutine must finish (no timers are involved: PINGs are off).
#include "k8s/spdy_session.hpp"
#include "k8s/spdy.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/signal.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace spdy = mk::k8s::spdy;
using namespace std::chrono_literals;

namespace {
struct Wire {
  explicit Wire(const asio::any_io_executor& ex) : arrived(ex) {}
  std::string to_client;
  std::size_t written = 0;
  bool closed = false;
  mk::Signal arrived;
};

class FakePipe : public mk::k8s::SpdyPipe {
 public:
  explicit FakePipe(std::shared_ptr<Wire> w) : w_(std::move(w)) {}
  asio::awaitable<bool> read(std::string& out) override {
    while (w_->to_client.empty() && !w_->closed) co_await w_->arrived.wait();
    if (w_->to_client.empty()) co_return false;
    out += std::exchange(w_->to_client, std::string());
    co_return true;
  }
  asio::awaitable<void> write(std::string_view bytes) override {
    if (w_->closed) throw boost::system::system_error(asio::error::broken_pipe);
    w_->written += bytes.size();
    co_return;
  }
  void close() override {
    w_->closed = true;
    w_->arrived.notify();
  }

 private:
  std::shared_ptr<Wire> w_;
};

struct Local {
  std::shared_ptr<mk::k8s::PortTunnel> tunnel;
  bool open_done = false, read_done = false;
};

asio::awaitable<void> open_and_read(std::shared_ptr<mk::k8s::SpdySession> s, std::shared_ptr<Local> l) {
  try {
    l->tunnel = co_await s->open(8080, 3600s);
  } catch (const mk::Error&) {
  }
  l->open_done = true;
  if (!l->tunnel) {
    l->read_done = true;
    co_return;
  }
  try {
    for (;;) {
      auto data = co_await l->tunnel->read();
      if (!data) break;
    }
  } catch (const boost::system::system_error&) {
  }
  l->read_done = true;
}

asio::awaitable<void> write_to(std::shared_ptr<Local> l, std::string data) {
  try {
    co_await l->tunnel->write(data);
  } catch (const mk::Error&) {
  } catch (const boost::system::system_error&) {
  }
}

struct Input {
  std::string_view in;
  std::uint8_t byte() {
    if (in.empty()) return 0;
    auto b = static_cast<std::uint8_t>(in[0]);
    in.remove_prefix(1);
    return b;
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | byte();
    return v;
  }
  std::string_view bytes() {
    std::size_t n = byte();
    auto s = in.substr(0, n);
    in.remove_prefix(s.size());
    return s;
  }
};

// Stream ids the session uses: error streams 1, 5, 9 ..., data streams 3, 7, 11 ...
std::uint32_t stream_id(Input& in) { return in.byte() % 16 * 2 + 1; }
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mk::log::set_level(static_cast<mk::log::Level>(4));  // above every level: quiet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{std::string_view(reinterpret_cast<const char*>(data), size)};
  asio::io_context io;
  auto wire = std::make_shared<Wire>(io.get_executor());
  mk::k8s::SpdySessionOptions opts;
  opts.ping_period = 0ms;
  opts.max_queued = 256;  // small, so a slow local reader is reachable
  opts.stall_timeout = 3600s;
  auto session =
      mk::k8s::SpdySession::start(io.get_executor(), std::make_unique<FakePipe>(wire), "fuzz port-forward", opts);
  spdy::Deflater server_deflate;
  std::vector<std::shared_ptr<Local>> locals;
  auto send = [&](const std::string& bytes) {
    wire->to_client += bytes;
    wire->arrived.notify();
  };
  for (int steps = 0; steps < 64 && !in.in.empty(); ++steps) {
    switch (in.byte() % 12) {
      case 0: send(std::string(in.bytes())); break;
      case 1: {  // SYN_REPLY / HEADERS with a compressed block
        auto type = in.byte() & 1 ? spdy::kSynReply : spdy::kHeaders;
        auto flags = in.byte();
        std::string p;
        auto id = stream_id(in);
        p = {0, 0, 0, static_cast<char>(id)};
        p += server_deflate.compress(spdy::encode_header_block({{"port", "8080"}, {std::string(in.bytes()), ""}}));
        send(spdy::control_frame(type, flags, p));
        break;
      }
      case 2: {  // SYN_STREAM (server push), compressed
        auto id = in.u32();
        send(
            spdy::syn_stream(id, server_deflate.compress(spdy::encode_header_block({{"a", std::string(in.bytes())}}))));
        break;
      }
      case 3: {
        auto id = stream_id(in);
        auto flags = in.byte();
        send(spdy::data_frame(id, in.bytes(), flags));
        break;
      }
      case 4: {
        auto id = stream_id(in);
        send(spdy::rst_stream(id, in.u32()));
        break;
      }
      case 5: send(spdy::ping(in.u32())); break;
      case 6: {
        auto last = in.u32();
        send(spdy::goaway(last, in.u32()));
        break;
      }
      case 7: {
        auto type = static_cast<std::uint16_t>(in.byte() % 12);
        auto flags = in.byte();
        send(spdy::control_frame(type, flags, in.bytes()));
        break;
      }
      case 8:
        if (locals.size() < 8) {
          auto l = std::make_shared<Local>();
          locals.push_back(l);
          asio::co_spawn(io, open_and_read(session, l), asio::detached);
        }
        break;
      case 9:
        if (!locals.empty()) {
          auto& l = locals[in.byte() % locals.size()];
          if (l->tunnel) asio::co_spawn(io, write_to(l, std::string(in.bytes())), asio::detached);
        }
        break;
      case 10:
        if (!locals.empty()) {
          auto& l = locals[in.byte() % locals.size()];
          if (l->tunnel) l->tunnel->shutdown_write();
        }
        break;
      case 11:
        if (!locals.empty()) {
          auto& l = locals[in.byte() % locals.size()];
          if (l->tunnel) l->tunnel->close();
        }
        break;
    }
    io.poll();
    io.restart();
  }
  // The server hangs up: everything must come to an end without any timer firing.
  wire->closed = true;
  wire->arrived.notify();
  io.poll();
  io.restart();
  for (std::size_t i = 0; i < locals.size(); ++i)
    if (!locals[i]->open_done || !locals[i]->read_done) {
      std::fprintf(stderr, "local connection %zu never finished: open %s, read %s, tunnel %s\n", i,
                   locals[i]->open_done ? "done" : "pending", locals[i]->read_done ? "done" : "pending",
                   locals[i]->tunnel ? "yes" : "no");
      std::abort();
    }
  if (session->alive()) {
    std::fprintf(stderr, "the session is still alive after its connection closed\n");
    std::abort();
  }
  locals.clear();
  session.reset();
  io.run();
  return 0;
}
