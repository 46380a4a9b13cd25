#include "k8s/spdy_session.hpp"

#include "k8s/spdy.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/signal.hpp"

#include <fmt/core.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <utility>

namespace mk::k8s {
namespace asio = boost::asio;
using asio::use_awaitable;

namespace {
constexpr std::size_t kMaxWriteChunk = 32 * 1024;  // what client-go sends per data frame
constexpr std::size_t kMaxOutgoing = 256 * 1024;   // frames queued for the connection before writers wait
constexpr std::size_t kMaxErrorText = 4096;
constexpr std::uint32_t kStatusRefused = 3, kStatusCancel = 5;  // RST_STREAM status codes
constexpr std::uint32_t kLastStreamId = 0x7ffffff0;
// After a data stream ends, how long its error text may take to follow.
constexpr auto kErrorTextWait = std::chrono::seconds(5);
constexpr int kMaxUnansweredPings = 3;

// One forwarded connection: its error stream (server -> client text) and data stream.
struct Stream {
  explicit Stream(const asio::any_io_executor& ex) : signal(ex), drained(ex) {}
  std::uint32_t error_id = 0, data_id = 0;
  bool replied[2] = {false, false};       // error, data: SYN_REPLY seen
  bool remote_done[2] = {false, false};   // error, data: FIN or RST from the server
  bool remote_reset[2] = {false, false};  // error, data: RST from the server (we must not answer it)
  bool local_fin = false;                 // we half-closed the data stream
  bool closed = false;                    // our side is done (RST sent); frames for it are dropped
  std::deque<std::string> queue;          // data the reader has not taken yet
  std::size_t queued = 0;
  std::uint32_t unacked = 0;  // data taken by the reader, window not yet given back
  std::string error_text, reset_reason, close_reason;
  Signal signal;                                     // data queued, a reply, an end, the session ended
  Signal drained;                                    // the reader took data
  std::function<void(const std::string&)> on_abort;  // the session reset the stream (stalled reader)
  int index(std::uint32_t id) const { return id == data_id ? 1 : 0; }
};
}  // namespace

struct SpdySession::State {
  State(asio::any_io_executor e, std::unique_ptr<SpdyPipe> p, std::string w, SpdySessionOptions o)
      : ex(e), pipe(std::move(p)), what(std::move(w)), opt(o), out_ready(e), out_room(e), ping_timer(e) {}

  asio::any_io_executor ex;
  std::unique_ptr<SpdyPipe> pipe;
  std::string what;
  SpdySessionOptions opt;
  std::string in;
  std::size_t pos = 0;
  spdy::Deflater deflate;  // one context per direction for the whole connection
  spdy::Inflater inflate;
  std::string out;  // frames waiting for the writer, in order
  Signal out_ready, out_room;
  bool ended = false;
  bool going_away = false;  // GOAWAY received or ids used up: no new streams, the open ones finish
  bool writing = false;     // a write to the pipe is in progress
  std::string end_reason;
  std::string end_reason_pending;                            // why it is going away, until the last stream finishes
  std::map<std::uint32_t, std::shared_ptr<Stream>> streams;  // by both of a pair's ids
  std::uint32_t next_id = 1;                                 // client streams are odd
  std::uint64_t next_request = 0;
  std::uint32_t unacked_session = 0;
  std::uint32_t next_ping = 1;  // our PINGs are odd, the server's even
  int unanswered_pings = 0;
  asio::steady_timer ping_timer;

  // Frames are encoded when queued, so header blocks reach the peer's inflater in the order
  // they were compressed.
  void enqueue(std::string frame) {
    if (ended) return;
    out += frame;
    out_ready.notify();
  }

  // Waits while the outgoing queue is full; throws once the connection ended.
  asio::awaitable<void> room() {
    while (!ended && out.size() >= kMaxOutgoing) co_await out_room.wait();
    if (ended) fail(Errc::unavailable, ended_text());
  }

  std::string ended_text() const {
    return end_reason.empty() ? fmt::format("{}: the port-forward connection ended", what)
                              : fmt::format("{}: the port-forward connection ended: {}", what, end_reason);
  }

  void go_away(std::string why) {
    if (going_away || ended) return;
    going_away = true;
    if (streams.empty()) end(std::move(why));
    else end_reason_pending = std::move(why);
  }

  void end(std::string why) {
    if (ended) return;
    ended = true;
    end_reason = std::move(why);
    pipe->close();
    ping_timer.cancel();
    out_ready.notify();
    out_room.notify();
    for (auto& [id, st] : streams) {
      st->signal.notify();
      st->drained.notify();
    }
  }

  // Our side of a pair is done: reset what the server may still send on, forget both ids.
  void finish(const std::shared_ptr<Stream>& st, std::string reason) {
    if (st->closed) return;
    st->closed = true;
    st->close_reason = std::move(reason);
    // Nothing is sent on a stream the server reset (SPDY forbids answering a RST with one).
    if (!st->remote_reset[1] && (!st->remote_done[1] || !st->local_fin))
      enqueue(spdy::rst_stream(st->data_id, kStatusCancel));
    if (!st->remote_done[0]) enqueue(spdy::rst_stream(st->error_id, kStatusCancel));
    streams.erase(st->error_id);
    streams.erase(st->data_id);
    st->queue.clear();
    st->queued = 0;
    st->signal.notify();
    st->drained.notify();
    if (going_away && streams.empty()) end(end_reason_pending);
  }

  // Makes at least `n` unread bytes available; false at the end of the connection.
  asio::awaitable<bool> fill(std::size_t n) {
    while (in.size() - pos < n) {
      if (pos > 0) {
        in.erase(0, pos);
        pos = 0;
      }
      // Named, not `if (!co_await ...)`: g++ 12 read that result uninitialised here.
      bool more = co_await pipe->read(in);
      if (!more) co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> on_data(spdy::FrameHeader h, std::string payload) {
    // The session window goes back at once: what we hold per stream is capped below.
    unacked_session += h.length;
    if (unacked_session >= spdy::kDefaultWindow / 2) {
      enqueue(spdy::window_update(0, unacked_session));
      unacked_session = 0;
    }
    auto it = streams.find(h.stream_id);
    if (it == streams.end()) co_return;  // a stream we already reset
    auto st = it->second;
    bool fin = (h.flags & spdy::kFlagFin) != 0;
    if (h.stream_id == st->error_id) {
      auto room = kMaxErrorText - std::min(kMaxErrorText, st->error_text.size());
      st->error_text.append(payload, 0, std::min(room, payload.size()));
      if (fin) st->remote_done[0] = true;
      st->signal.notify();
      co_return;
    }
    // After the server's FIN (or RST) the reader takes no more data: queued, it could only
    // stall the connection (a protocol error of the server's; found by fuzz/spdy_session).
    if (st->remote_done[1]) co_return;
    // Nor before the server accepted the data stream (its SYN_REPLY).
    if (!st->replied[1]) {
      finish(st, "the server sent data before accepting the stream (SPDY protocol error)");
      co_return;
    }
    if (!payload.empty()) {
      st->queued += payload.size();
      st->queue.push_back(std::move(payload));
    }
    if (fin) st->remote_done[1] = true;
    st->signal.notify();
    if (st->queued <= opt.max_queued) co_return;
    // Data may come before the error stream's reply (spdystream serves each stream on its own
    // goroutine), but until both replies the stream has no reader: waiting for one would hold the
    // whole connection, deaf to its end, until the open times out (found by fuzz/spdy_session).
    if (!st->replied[0]) {
      finish(st, fmt::format("the server sent more than {} bytes before accepting the stream", opt.max_queued));
      co_return;
    }
    // A peer that honours the 64 KiB stream window never gets here; spdystream does not, so
    // (like client-go) stop reading until this stream's reader catches up, for a bounded time.
    {
      Deadline dl(ex, opt.stall_timeout, [st] { st->drained.notify(); });
      while (st->queued > opt.max_queued && !st->closed && !ended && !dl.passed()) co_await st->drained.wait();
      if (dl.passed() && st->queued > opt.max_queued && !st->closed) {
        auto why = fmt::format("the local connection did not read for {} s; its stream was reset",
                               opt.stall_timeout.count() / 1000.0);
        log::warn("{}: {}", what, why);
        finish(st, why);
        if (st->on_abort) st->on_abort(why);  // the local side may be stuck writing to that reader
      }
    }
  }

  void on_control(const spdy::FrameHeader& h, const std::string& p) {
    switch (h.type) {
      case spdy::kSynReply:
      case spdy::kHeaders: {
        auto id = spdy::read_u32(p, 0) & 0x7fffffff;
        inflate.decompress(std::string_view(p).substr(4));  // always: the context spans the connection
        auto it = streams.find(id);
        if (it == streams.end()) break;
        auto& st = *it->second;
        if (h.type == spdy::kSynReply) st.replied[st.index(id)] = true;
        if ((h.flags & spdy::kFlagFin) != 0) st.remote_done[st.index(id)] = true;
        st.signal.notify();
        break;
      }
      case spdy::kSynStream: {  // server push: not part of port-forward
        if (p.size() < 10) fail(Errc::unavailable, fmt::format("{}: SPDY: short SYN_STREAM", what));
        auto id = spdy::read_u32(p, 0) & 0x7fffffff;
        inflate.decompress(std::string_view(p).substr(10));
        enqueue(spdy::rst_stream(id, kStatusRefused));
        break;
      }
      case spdy::kRstStream: {
        auto id = spdy::read_u32(p, 0) & 0x7fffffff;
        auto status = spdy::read_u32(p, 4);
        auto it = streams.find(id);
        if (it == streams.end()) break;
        auto& st = *it->second;
        int i = st.index(id);
        st.remote_done[i] = true;
        st.remote_reset[i] = true;
        if (st.reset_reason.empty())
          st.reset_reason =
              fmt::format("the server reset the {} stream (SPDY status {})", i == 1 ? "data" : "error", status);
        st.signal.notify();
        break;
      }
      case spdy::kPing: {
        if (p.size() != 4) fail(Errc::unavailable, fmt::format("{}: SPDY: bad PING", what));
        if ((spdy::read_u32(p, 0) & 1) == 1) unanswered_pings = 0;  // the answer to one of ours
        else enqueue(spdy::control_frame(spdy::kPing, 0, p));       // the server's: echo it
        break;
      }
      case spdy::kGoAway: {
        // No new streams; the open ones run to their end (spdystream keeps serving them).
        auto status = p.size() >= 8 ? spdy::read_u32(p, 4) : 0;
        go_away(status == 0 ? "the server ended the SPDY session (GOAWAY)"
                            : fmt::format("the server ended the SPDY session (GOAWAY status {})", status));
        break;
      }
      default: break;  // SETTINGS, WINDOW_UPDATE (spdystream sends neither usefully), unknown: ignore
    }
  }
};

namespace {
using State = SpdySession::State;

asio::awaitable<void> read_loop(std::shared_ptr<State> s) {
  std::string why;
  try {
    for (;;) {
      bool header = co_await s->fill(spdy::kFrameHeaderSize);
      if (!header) {
        why = "the API server closed the connection";
        break;
      }
      auto h = spdy::parse_frame_header(std::string_view(s->in).substr(s->pos, spdy::kFrameHeaderSize));
      bool whole = co_await s->fill(spdy::kFrameHeaderSize + h.length);
      if (!whole) {
        why = "the connection closed mid-frame";
        break;
      }
      std::string payload = s->in.substr(s->pos + spdy::kFrameHeaderSize, h.length);
      s->pos += spdy::kFrameHeaderSize + h.length;
      s->unanswered_pings = 0;  // any frame shows the connection is alive
      if (h.control) s->on_control(h, payload);
      else co_await s->on_data(h, std::move(payload));
      if (s->ended) break;
    }
  } catch (const std::exception& e) {
    why = e.what();
  }
  s->end(std::move(why));
}

asio::awaitable<void> write_loop(std::shared_ptr<State> s) {
  try {
    while (!s->ended) {
      if (s->out.empty()) {
        co_await s->out_ready.wait();
        continue;
      }
      // Everything queued goes in one write: small frames (window updates, SYNs) share a record.
      std::string batch = std::exchange(s->out, std::string());
      s->out_room.notify();
      s->writing = true;
      co_await s->pipe->write(batch);
      s->writing = false;
    }
  } catch (const std::exception& e) {
    s->end(fmt::format("writing to the API server failed: {}", e.what()));
  }
}

asio::awaitable<void> ping_loop(std::shared_ptr<State> s) {
  while (!s->ended) {
    s->ping_timer.expires_after(s->opt.ping_period);
    co_await s->ping_timer.async_wait(asio::as_tuple(use_awaitable));
    if (s->ended) break;
    // Only an idle session is closed for silence: with streams open the server may be blocked
    // behind a slow pod (spdystream stops reading then), which is not a dead connection; client-go
    // never closes for missed PINGs. An idle one is re-dialled by the next local connection.
    if (s->unanswered_pings >= kMaxUnansweredPings && s->streams.empty()) {
      s->end(fmt::format("the API server did not answer {} PINGs", kMaxUnansweredPings));
      break;
    }
    if (!s->writing && s->out.empty()) ++s->unanswered_pings;  // counted once actually sent
    s->enqueue(spdy::ping(s->next_ping));
    s->next_ping += 2;
  }
}

class StreamTunnel final : public PortTunnel {
 public:
  StreamTunnel(std::shared_ptr<State> s, std::shared_ptr<Stream> st) : s_(std::move(s)), st_(std::move(st)) {}
  ~StreamTunnel() override { s_->finish(st_, "closed"); }

  asio::awaitable<std::optional<std::string>> read() override {
    auto& st = *st_;
    for (;;) {
      if (!st.queue.empty()) {
        std::string data = std::move(st.queue.front());
        st.queue.pop_front();
        st.queued -= data.size();
        // The stream window goes back as the local side takes the data: a peer that honours
        // it never has more than 64 KiB in flight for this connection.
        st.unacked += static_cast<std::uint32_t>(data.size());
        if (st.unacked >= spdy::kDefaultWindow / 2 && !st.remote_done[1]) {
          s_->enqueue(spdy::window_update(st.data_id, st.unacked));
          st.unacked = 0;
        }
        st.drained.notify();
        co_return data;
      }
      if (st.closed) {
        error_ = st.close_reason;
        co_return std::nullopt;
      }
      if (st.remote_done[1] || s_->ended) break;
      co_await st.signal.wait();
    }
    co_await collect_error();
    co_return std::nullopt;
  }

  asio::awaitable<void> write(std::string_view data) override {
    while (!data.empty()) {
      co_await s_->room();
      if (st_->closed || st_->remote_reset[1] || st_->local_fin)
        throw boost::system::system_error(asio::error::broken_pipe);
      auto n = std::min(data.size(), kMaxWriteChunk);
      s_->enqueue(spdy::data_frame(st_->data_id, data.substr(0, n)));
      data.remove_prefix(n);
    }
  }

  bool shutdown_write() override {
    auto& st = *st_;
    if (st.closed || st.local_fin || st.remote_reset[1] || s_->ended) return true;
    st.local_fin = true;
    s_->enqueue(spdy::data_frame(st.data_id, {}, spdy::kFlagFin));
    return true;
  }

  void close() override { s_->finish(st_, "closed"); }

  void set_abort_handler(std::function<void(const std::string&)> f) override { st_->on_abort = std::move(f); }

  // Once the data stream has ended: waits (bounded) for the error stream, then says why, if
  // anything went wrong.
  asio::awaitable<void> collect_error() {
    auto st = st_;
    {
      Deadline dl(s_->ex, kErrorTextWait, [st] { st->signal.notify(); });
      while (!st->remote_done[0] && !st->closed && !s_->ended && !dl.passed()) co_await st->signal.wait();
    }
    if (!st->error_text.empty()) error_ = st->error_text;
    else if (!st->reset_reason.empty()) error_ = st->reset_reason;
    else if (s_->ended && !st->remote_done[1]) error_ = s_->ended_text();
  }

  const std::shared_ptr<Stream>& stream() const { return st_; }

 private:
  std::shared_ptr<State> s_;
  std::shared_ptr<Stream> st_;
};
}  // namespace

std::shared_ptr<SpdySession> SpdySession::start(asio::any_io_executor ex, std::unique_ptr<SpdyPipe> pipe,
                                                std::string what, SpdySessionOptions options) {
  std::shared_ptr<SpdySession> session(new SpdySession());
  session->state_ = std::make_shared<State>(ex, std::move(pipe), std::move(what), options);
  asio::co_spawn(ex, read_loop(session->state_), asio::detached);
  asio::co_spawn(ex, write_loop(session->state_), asio::detached);
  if (options.ping_period.count() > 0) asio::co_spawn(ex, ping_loop(session->state_), asio::detached);
  return session;
}

SpdySession::~SpdySession() { close(); }

bool SpdySession::alive() const { return !state_->ended && !state_->going_away; }
const std::string& SpdySession::end_reason() const { return state_->end_reason; }
std::size_t SpdySession::open_streams() const { return state_->streams.size() / 2; }
void SpdySession::close() { state_->end(""); }

asio::awaitable<std::shared_ptr<PortTunnel>> SpdySession::open(int port, std::chrono::milliseconds timeout) {
  auto s = state_;
  if (s->ended) fail(Errc::unavailable, s->ended_text());
  if (s->next_id > kLastStreamId) s->go_away("stream ids used up");  // a new connection starts again at 1
  if (s->going_away)
    fail(Errc::unavailable, fmt::format("{}: the port-forward connection takes no new streams: {}", s->what,
                                        s->end_reason_pending.empty() ? s->end_reason : s->end_reason_pending));
  auto st = std::make_shared<Stream>(s->ex);
  st->error_id = s->next_id;
  st->data_id = s->next_id + 2;
  s->next_id += 4;
  auto request = std::to_string(s->next_request++);
  s->streams[st->error_id] = st;
  s->streams[st->data_id] = st;
  auto headers = [&](const char* type) {
    return spdy::encode_header_block({{"streamtype", type}, {"port", std::to_string(port)}, {"requestid", request}});
  };
  // Both SYN_STREAMs at once (client-go waits for each reply in turn): one round trip.
  s->enqueue(spdy::syn_stream(st->error_id, s->deflate.compress(headers("error"))));
  s->enqueue(spdy::syn_stream(st->data_id, s->deflate.compress(headers("data"))));
  auto tunnel = std::make_shared<StreamTunnel>(s, st);  // resets both streams if we throw
  {
    Deadline dl(s->ex, timeout, [st] { st->signal.notify(); });
    while (!(st->replied[0] && st->replied[1])) {
      if (s->ended || st->remote_done[1] || st->closed) {
        // The server gave up (e.g. it could not dial the pod port): its reason follows on the error stream.
        co_await tunnel->collect_error();
        auto why = !tunnel->error().empty()    ? tunnel->error()
                   : !st->close_reason.empty() ? st->close_reason
                                               : std::string("the server closed the stream");
        fail(Errc::unavailable, fmt::format("{}: SPDY stream setup failed: {}", s->what, why));
      }
      if (dl.passed())
        fail(Errc::timeout, fmt::format("{}: the server did not accept the port-forward streams within {} s", s->what,
                                        timeout.count() / 1000.0));
      co_await st->signal.wait();
    }
  }
  // The error stream only carries server -> client: half-close our side at once.
  s->enqueue(spdy::data_frame(st->error_id, {}, spdy::kFlagFin));
  co_return tunnel;
}

}  // namespace mk::k8s
