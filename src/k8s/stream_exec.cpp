#include "k8s/stream_exec.hpp"

#include "k8s/client.hpp"
#include "k8s/stream.hpp"
#include "k8s/websocket.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mk::k8s {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
constexpr std::uint8_t kStdin = 0, kStdout = 1, kStderr = 2, kStatus = 3, kClose = 255;

std::optional<int> parse_int(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.remove_suffix(1);
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

void append_capped(std::string& dst, std::string_view src, std::size_t cap, bool& truncated) {
  if (dst.size() >= cap) {
    if (!src.empty()) truncated = true;
    return;
  }
  auto n = std::min(src.size(), cap - dst.size());
  dst.append(src.substr(0, n));
  if (n < src.size()) truncated = true;
}

struct ExecState {
  std::shared_ptr<ChannelSocket> sock;
  ExecOutcome out;
  std::size_t max_out = 0, max_err = 0;
  bool got_status = false;
};

asio::awaitable<void> write_stdin(std::shared_ptr<ExecState> st, std::string data) {
  try {
    // The apiserver takes frames of any size, but modest ones keep memory flat on both sides.
    constexpr std::size_t kChunk = 32 * 1024;
    for (std::size_t i = 0; i < data.size(); i += kChunk)
      co_await st->sock->write(kStdin, std::string_view(data).substr(i, kChunk));
    // v5 can half-close stdin so commands reading to EOF (cat, sh) finish; v4 cannot.
    if (st->sock->protocol() == "v5.channel.k8s.io") co_await st->sock->write(kClose, std::string_view("\0", 1));
  } catch (const boost::system::system_error&) {
    // The command exited before reading everything: its result says what happened.
  }
}

asio::awaitable<void> pump(std::shared_ptr<ExecState> st, std::optional<std::string> stdin_data) {
  if (stdin_data)
    asio::co_spawn(co_await asio::this_coro::executor, write_stdin(st, std::move(*stdin_data)), asio::detached);
  for (;;) {
    std::optional<std::string> msg;
    try {
      msg = co_await st->sock->read();
    } catch (const boost::system::system_error&) {
      if (st->got_status) break;  // the exit status is all we were waiting for
      throw;
    }
    if (!msg) break;
    if (msg->empty()) continue;
    auto ch = static_cast<std::uint8_t>((*msg)[0]);
    std::string_view payload = std::string_view(*msg).substr(1);
    if (ch == kStdout) append_capped(st->out.out, payload, st->max_out, st->out.out_truncated);
    else if (ch == kStderr) append_capped(st->out.err, payload, st->max_err, st->out.err_truncated);
    else if (ch == kStatus && !payload.empty()) {
      auto s = parse_exec_status(payload);
      st->out.exit_code = s.exit_code;
      st->out.failure = s.error;
      st->out.failure_reason = s.reason;
      st->got_status = true;
    }
  }
}
}  // namespace

std::string exec_target(const ExecOptions& o) {
  Query q;
  for (auto& c : o.command) q.emplace_back("command", c);
  if (!o.container.empty()) q.emplace_back("container", o.container);
  q.emplace_back("stdout", "true");
  q.emplace_back("stderr", "true");
  if (o.stdin_data) q.emplace_back("stdin", "true");
  return Client::with_query(fmt::format("/api/v1/namespaces/{}/pods/{}/exec", url_encode(o.ns), url_encode(o.pod)), q);
}

ExecStatus parse_exec_status(std::string_view text) {
  ExecStatus r;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    r.error = fmt::format("unreadable exec status: {}", text.substr(0, 200));
    return r;
  }
  auto& o = v.as_object();
  auto str = [](const json::object& x, std::string_view k) -> std::string {
    auto* p = x.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  if (str(o, "status") == "Success") {
    r.exit_code = 0;
    return r;
  }
  std::string message = str(o, "message");
  r.reason = str(o, "reason");
  if (r.reason == "NonZeroExitCode") {
    if (auto* d = o.if_contains("details"); d && d->is_object())
      if (auto* cs = d->as_object().if_contains("causes"); cs && cs->is_array())
        for (auto& c : cs->as_array())
          if (c.is_object() && str(c.as_object(), "reason") == "ExitCode")
            if (auto n = parse_int(str(c.as_object(), "message"))) {
              r.exit_code = n;
              return r;
            }
  }
  // kwok and some runtimes: InternalError "command terminated ...: exit status N".
  constexpr std::string_view marker = "exit status ";
  if (auto pos = message.rfind(marker); pos != std::string::npos)
    if (auto n = parse_int(std::string_view(message).substr(pos + marker.size()))) {
      r.exit_code = n;
      return r;
    }
  r.error = message.empty() ? fmt::format("exec failed: {}", text.substr(0, 200)) : message;
  return r;
}

namespace {
asio::awaitable<ExecOutcome> run_exec(ApiTransport& t, ExecOptions o, std::string target) {
  auto started = std::chrono::steady_clock::now();
  auto handshake_timeout = std::min<std::chrono::milliseconds>(o.timeout, std::chrono::seconds(30));
  // Not inline in the co_await: g++ 12 miscompiles braced initialisers there.
  std::vector<std::string> protocols{"v5.channel.k8s.io", "v4.channel.k8s.io"};
  auto what = fmt::format("exec in pod \"{}\"", o.pod);
  auto sock = co_await ChannelSocket::open(t, std::move(target), protocols, what, handshake_timeout, o.trace);
  auto st = std::make_shared<ExecState>();
  st->sock = sock;
  st->max_out = o.max_stdout;
  st->max_err = o.max_stderr;
  st->out.protocol = sock->protocol();
  auto left =
      o.timeout - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (left < std::chrono::milliseconds(1)) left = std::chrono::milliseconds(1);
  auto stdin_data = std::move(o.stdin_data);
  std::function<asio::awaitable<void>()> body = [st, stdin_data]() { return pump(st, stdin_data); };
  std::function<void()> stop = [sock] { sock->close(); };
  auto end = co_await run_bounded(body, stop, left);
  sock->close();
  ExecOutcome r = st->out;
  if (end == StreamEnd::deadline) r.timed_out = true;
  if (end == StreamEnd::cancelled) r.cancelled = true;
  if (end == StreamEnd::finished && !st->got_status)
    r.failure = "the connection closed before the command's exit status arrived";
  co_return r;
}

}  // namespace

void record_exec_outcome(trace::Span& span, const ExecOutcome& r) {
  if (!span.recording()) return;
  span.set("http.response.status_code", static_cast<std::int64_t>(101));  // upgraded
  span.set("k8s.exec.protocol", r.protocol);
  span.set("k8s.exec.stdout_bytes", static_cast<std::int64_t>(r.out.size()));
  span.set("k8s.exec.stderr_bytes", static_cast<std::int64_t>(r.err.size()));
  if (r.out_truncated || r.err_truncated) span.set("k8s.exec.truncated", true);
  record_stream_end(span, r.cancelled ? StreamEnd::cancelled : r.timed_out ? StreamEnd::deadline : StreamEnd::finished);
  // A non-zero exit is the command's outcome, not a failed request; a missing status is.
  if (r.exit_code) span.set("process.exit.code", static_cast<std::int64_t>(*r.exit_code));
  if (!r.failure.empty()) {
    // A Status reason is one CamelCase word (metav1.StatusReason); anything else is not recorded.
    bool word = !r.failure_reason.empty() && r.failure_reason.size() <= 64 &&
                std::all_of(r.failure_reason.begin(), r.failure_reason.end(),
                            [](unsigned char c) { return std::isalnum(c) != 0; });
    span.set("error.type", "exec_status");
    if (word) span.set("k8s.status.reason", r.failure_reason);
    span.set_status(trace::Status::error, word ? "the exec ended without an exit code: " + r.failure_reason
                                               : std::string("the exec ended without an exit code"));
  }
}

asio::awaitable<ExecOutcome> exec_in_pod(ApiTransport& t, ExecOptions o) {
  if (o.command.empty()) fail(Errc::invalid_argument, "command must have at least one element");
  auto target = exec_target(o);
  auto span = t.start_span(boost::beast::http::verb::get, target, o.trace);
  if (span.recording()) o.trace = span.context();  // the API server continues from this span
  try {
    ExecOutcome r = co_await run_exec(t, std::move(o), std::move(target));
    record_exec_outcome(span, r);
    co_return r;
  } catch (const std::exception& e) {
    record_error(span, e);
    throw;
  }
}

}  // namespace mk::k8s
