// k8s_get_pod_logs: a pod container's log with kubectl's options, a line filter applied here,
// and `follow` for a bounded time, streaming new lines as progress notifications.
#include "k8s/stream.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/pods/log_filter.hpp"
#include "tools/pods/pod_common.hpp"
#include "tools/pods/pod_tools.hpp"
#include "util/blocking.hpp"
#include "util/error.hpp"
#include "util/signal.hpp"

#include <fmt/core.h>

namespace mk::tools {
namespace json = boost::json;
namespace asio = boost::asio;

namespace {
constexpr std::int64_t kDefaultTail = 100;
constexpr std::int64_t kDefaultLimitBytes = 256 * 1024;
constexpr std::int64_t kMaxLimitBytes = 8 << 20;
constexpr std::int64_t kDefaultFollowSeconds = 30;
constexpr std::size_t kMaxProgressMessage = 16 * 1024;
constexpr std::size_t kScanChunk = 256 * 1024;

struct LogRequest {
  PodRef ref;
  std::string container;
  k8s::Query query;
  std::size_t limit_bytes = kDefaultLimitBytes;
};

// Collected output, capped at limit_bytes.
struct Collected {
  std::string text;
  std::size_t lines = 0, matched = 0;
  bool truncated = false;
  void add(const std::string& line, std::size_t cap) {
    ++matched;
    if (text.size() + line.size() + 1 > cap) {
      truncated = true;
      return;
    }
    text.append(line).push_back('\n');
    ++lines;
  }
};

struct FollowState {
  std::unique_ptr<k8s::HttpStream> stream;
  LineSplitter splitter;
  std::shared_ptr<LineFilter> filter;
  Collected got;
  std::size_t cap = 0;
  bool timestamps = false;
  const Call* ctx = nullptr;  // only used while `live`
  bool live = true;
  bool ended = false;
};

asio::awaitable<void> follow_pump(std::shared_ptr<FollowState> st) {
  for (;;) {
    auto chunk = co_await st->stream->read_some();
    if (!chunk) break;
    auto lines = st->splitter.feed(*chunk);
    if (st->filter->active()) {
      // Matching runs on the blocking pool: the io thread serves every session.
      auto job = [f = st->filter, ts = st->timestamps, lines = std::move(lines)]() mutable {
        std::erase_if(lines, [&](const std::string& l) { return !f->matches(log_message(l, ts)); });
        return std::move(lines);
      };
      lines = co_await run_blocking(std::move(job));
    }
    std::string batch;
    for (auto& line : lines) {
      st->got.add(line, st->cap);
      if (batch.size() + line.size() + 1 <= kMaxProgressMessage) batch.append(line).push_back('\n');
    }
    if (!batch.empty() && st->live && st->ctx) {
      batch.pop_back();
      st->ctx->progress(static_cast<double>(st->got.matched), std::nullopt, std::move(batch));
    }
  }
  if (auto last = st->splitter.finish();
      last && (!st->filter->active() || st->filter->matches(log_message(*last, st->timestamps))))
    st->got.add(*last, st->cap);
  st->ended = true;
}

// A filtered read of a whole log: streamed, scanned chunk by chunk on the blocking pool, within
// the byte budget (in the scanner) and the time budget (the scanner's deadline, and the stream is
// closed when it passes so a stalled read ends too).
struct ScanState {
  explicit ScanState(asio::any_io_executor ex, LogScanner sc) : scanner(std::move(sc)), finished(std::move(ex)) {}
  std::unique_ptr<k8s::HttpStream> stream;
  LogScanner scanner;  // touched by the pump only (and by one pool job at a time) until `done`
  bool done = false;
  std::exception_ptr error;
  Signal finished;
};

asio::awaitable<void> scan_pump(std::shared_ptr<ScanState> st) {
  try {
    for (;;) {
      auto chunk = co_await st->stream->read_some(kScanChunk);
      if (!chunk) {
        st->scanner.finish();
        break;
      }
      auto job = [st, data = std::move(*chunk)] { return st->scanner.feed(data); };
      bool more = co_await run_blocking(std::move(job));
      if (!more) break;
    }
  } catch (...) {
    st->error = std::current_exception();
  }
  st->done = true;
  st->finished.notify();
}

std::string log_path(const PodRef& r) {
  return fmt::format("/api/v1/namespaces/{}/pods/{}/log", k8s::url_encode(r.ns), k8s::url_encode(r.name));
}

struct ScanOutcome {
  LogScanner scanner;
  std::size_t budget_bytes = 0;
  int budget_seconds = 0;
};

// Streams the log at `target` through a LogScanner within the configured budgets.
asio::awaitable<ScanOutcome> scan_log(const Env& env, k8s::ApiTransport& transport, std::string target,
                                      std::shared_ptr<const LineFilter> filter, ScanLimits limits,
                                      trace::SpanContext trace) {
  const auto& cfg = env.settings();
  auto budget = std::chrono::seconds(cfg.log_scan_seconds);
  limits.max_bytes = cfg.log_scan_bytes;
  limits.deadline = std::chrono::steady_clock::now() + budget;
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<ScanState>(ex, LogScanner(std::move(filter), limits));
  st->stream =
      co_await k8s::HttpStream::open(transport, std::move(target), "logs", cfg.request_timeout, std::move(trace));
  std::function<asio::awaitable<void>()> body = [st] { return scan_pump(st); };
  std::function<void()> stop = [st] { st->stream->close(); };
  auto end = co_await k8s::run_bounded(body, stop, budget);
  st->stream->end_span(end);
  if (end == k8s::StreamEnd::cancelled) fail(Errc::cancelled, "log search was cancelled");
  // After the deadline the pump ends promptly: its read fails on the closed stream and a pool
  // job stops at the scanner's own deadline. Wait for it so the scanner has one owner again.
  while (!st->done) co_await st->finished.wait();
  st->stream->close();
  if (end == k8s::StreamEnd::deadline) st->scanner.stop(ScanStop::time_budget);
  else if (st->error) std::rethrow_exception(st->error);
  co_return ScanOutcome{std::move(st->scanner), cfg.log_scan_bytes, cfg.log_scan_seconds};
}

std::string human_bytes(std::size_t n) {
  if (n >= (1u << 20)) return fmt::format("{:.1f} MiB", n / 1048576.0);
  if (n >= 1024) return fmt::format("{:.1f} KiB", n / 1024.0);
  return fmt::format("{} bytes", n);
}
}  // namespace

asio::awaitable<mcp::ToolResult> get_pod_logs(Env& env, Call& c) {
  auto& a = c.args();
  LogRequest req;
  req.ref = pod_ref(env, c, str(a, "name"));
  auto filter_ptr = std::make_shared<LineFilter>(str(a, "filter"), str(a, "regex"));
  const LineFilter& filter = *filter_ptr;
  auto pod = co_await fetch_pod(req.ref);
  req.container = choose_container(pod, str(a, "container"));

  auto& q = req.query;
  q.emplace_back("container", req.container);
  auto tail = opt_int(a, "tailLines").value_or(kDefaultTail);
  bool follow = flag(a, "follow");
  // A filtered search reads the whole log and keeps the last `tail` matches; follow and the
  // unfiltered read let the API server cut the tail.
  bool search = filter.active() && !follow;
  if (tail >= 0 && !search) q.emplace_back("tailLines", std::to_string(tail));
  if (auto s = opt_int(a, "sinceSeconds")) q.emplace_back("sinceSeconds", std::to_string(*s));
  if (auto t = opt_str(a, "sinceTime"); t && !t->empty()) {
    if (opt_int(a, "sinceSeconds")) fail(Errc::invalid_argument, "use sinceSeconds or sinceTime, not both");
    q.emplace_back("sinceTime", *t);
  }
  if (flag(a, "previous")) q.emplace_back("previous", "true");
  bool timestamps = flag(a, "timestamps");
  if (timestamps) q.emplace_back("timestamps", "true");
  req.limit_bytes = static_cast<std::size_t>(opt_int(a, "limitBytes").value_or(kDefaultLimitBytes));
  if (follow && flag(a, "previous")) fail(Errc::invalid_argument, "follow cannot be combined with previous");

  Collected got;
  std::string ended;
  std::optional<ScanOutcome> scan;
  if (search) {
    ScanLimits limits;
    limits.keep_lines = tail < 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(tail);
    limits.keep_bytes = req.limit_bytes;
    limits.timestamps = timestamps;
    trace::SpanContext parent = req.ref.client->trace_parent();  // named: no temporaries in co_await (g++ 12)
    auto outcome = co_await scan_log(env, req.ref.client->transport(), k8s::Client::with_query(log_path(req.ref), q),
                                     filter_ptr, limits, std::move(parent));
    scan.emplace(std::move(outcome));
    got.text = scan->scanner.text();
    got.lines = scan->scanner.kept().size();
    got.matched = scan->scanner.matched_lines();
    got.truncated = scan->scanner.kept_capped() || scan->scanner.stopped() != ScanStop::none;
  } else if (!follow) {
    // Without a filter the API server applies the byte cap.
    q.emplace_back("limitBytes", std::to_string(req.limit_bytes));
    k8s::Request r;
    r.target = k8s::Client::with_query(log_path(req.ref), q);
    r.accept = "*/*";
    auto res = co_await req.ref.client->call(std::move(r), "logs");
    LineSplitter sp;
    auto lines = sp.feed(res.body);
    if (auto last = sp.finish()) lines.push_back(std::move(*last));
    for (auto& l : lines) got.add(l, req.limit_bytes);
    if (res.body.size() >= req.limit_bytes) got.truncated = true;
  } else {
    q.emplace_back("follow", "true");
    auto seconds = opt_int(a, "followSeconds").value_or(kDefaultFollowSeconds);
    auto st = std::make_shared<FollowState>();
    trace::SpanContext parent = req.ref.client->trace_parent();
    st->stream =
        co_await k8s::HttpStream::open(req.ref.client->transport(), k8s::Client::with_query(log_path(req.ref), q),
                                       "logs", env.settings().request_timeout, std::move(parent));
    st->filter = filter_ptr;
    st->timestamps = timestamps;
    st->cap = req.limit_bytes;
    st->ctx = &c;
    auto* raw = st->stream.get();
    std::function<asio::awaitable<void>()> body = [st] { return follow_pump(st); };
    std::function<void()> stop = [raw] { raw->close(); };
    auto end = co_await k8s::run_bounded(body, stop, std::chrono::seconds(seconds));
    st->stream->end_span(end);
    st->live = false;
    st->ctx = nullptr;
    st->stream->close();
    if (end == k8s::StreamEnd::cancelled) fail(Errc::cancelled, "log follow was cancelled");
    ended = end == k8s::StreamEnd::deadline ? fmt::format("followed for {} s", seconds) : "the log stream ended";
    got = std::move(st->got);
  }

  json::object out{{"pod", req.ref.name},        {"namespace", req.ref.ns}, {"container", req.container},
                   {"context", req.ref.context}, {"logs", got.text},        {"lines", got.lines},
                   {"truncated", got.truncated}};
  if (filter.active() || follow) out["matchedLines"] = got.matched;
  if (follow) out["followEnded"] = ended;
  std::string text = got.text.empty() ? std::string("(no log lines)") : got.text;
  if (scan) {
    const auto& sc = scan->scanner;
    out["scannedBytes"] = sc.scanned_bytes();
    out["scannedLines"] = sc.scanned_lines();
    if (sc.stopped() != ScanStop::none) out["truncatedBy"] = to_string(sc.stopped());
    else if (sc.kept_capped()) out["truncatedBy"] = "limitBytes";
    text += fmt::format("\n[searched {} ({} lines), {} matched, showing the last {}]", human_bytes(sc.scanned_bytes()),
                        sc.scanned_lines(), sc.matched_lines(), got.lines);
    if (sc.stopped() == ScanStop::byte_budget)
      text += fmt::format(
          "\n[search stopped at the byte budget ({}, --log-scan-bytes): later lines were not "
          "searched; narrow with sinceSeconds or sinceTime]",
          human_bytes(scan->budget_bytes));
    else if (sc.stopped() == ScanStop::time_budget)
      text += fmt::format(
          "\n[search stopped at the time budget ({} s, --log-scan-seconds): later lines were not "
          "searched; narrow with sinceSeconds or sinceTime]",
          scan->budget_seconds);
    if (sc.kept_capped())
      text += fmt::format("\n[older matches dropped to fit limitBytes ({} bytes)]", req.limit_bytes);
  } else if (got.truncated) {
    text += fmt::format("\n[output capped at {} bytes (limitBytes); narrow with tailLines, sinceSeconds or a filter]",
                        req.limit_bytes);
  }
  if (follow) text += fmt::format("\n[{}]", ended);
  text = fit_text(text, env.settings().max_response_bytes > 1024 ? env.settings().max_response_bytes - 1024 : 0);
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

namespace {
json::object pattern(std::string description) {
  auto s = schema::string(std::move(description));
  s["maxLength"] = kMaxFilterPattern;
  return s;
}
}  // namespace

json::object logs_input_schema() {
  return schema::with_context(schema::object(
      {{"name", schema::string("pod name")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"container", schema::string("container (default: the only one, or the pod's "
                                    "kubectl.kubernetes.io/default-container annotation)")},
       {"tailLines", schema::integer("last N lines (default 100; -1 for all, still capped by limitBytes); with "
                                     "filter or regex (and no follow), the last N matching lines of the whole log",
                                     -1)},
       {"sinceSeconds", schema::integer("only lines newer than this many seconds", 1)},
       {"sinceTime", schema::string("only lines after this RFC 3339 time (e.g. 2024-01-01T00:00:00Z)")},
       {"previous", schema::boolean("log of the previous (restarted) container instance")},
       {"timestamps", schema::boolean("prefix each line with its RFC 3339 timestamp")},
       {"limitBytes", schema::integer("byte cap on the returned log (default 262144)", 1, kMaxLimitBytes)},
       {"filter", pattern("keep only lines containing this text. A filter searches the whole log (not only the "
                          "last tailLines lines), up to the server's scan budget (default 64 MiB and 20 s; the "
                          "answer says what was scanned and sets truncated if a budget ended the search)")},
       {"regex", pattern("keep only lines matching this RE2 regular expression (linear time; no backreferences "
                         "or lookaround); searches like filter, and both must match when both are given")},
       {"follow", schema::boolean("keep streaming new lines for followSeconds; each batch is sent as a "
                                  "progress notification when the call has a progressToken")},
       {"followSeconds", schema::integer("how long to follow (default 30, max 300)", 1, kMaxFollowSeconds)}},
      {"name"}));
}

json::object logs_output_schema() {
  return schema::output(
      {{"logs", schema::string("the log text, one line per line")},
       {"lines", schema::integer("lines returned")},
       {"truncated", schema::boolean("something was left out: the byte cap (limitBytes) cut the output, or a scan "
                                     "budget ended a filtered search (see truncatedBy)")},
       {"container", schema::string("")},
       {"matchedLines", schema::integer("lines that matched the filter (all of them, not only those returned)")},
       {"scannedBytes", schema::integer("filtered search: bytes of log searched")},
       {"scannedLines", schema::integer("filtered search: lines of log searched")},
       {"truncatedBy", schema::string_enum("filtered search: why truncated is set; byteBudget and timeBudget mean "
                                           "the rest of the log was not searched",
                                           {"byteBudget", "timeBudget", "limitBytes"})}},
      {"logs"});
}

}  // namespace mk::tools
