// k8s_get_pod_logs: a pod container's log with kubectl's options, a line filter applied here,
// and `follow` for a bounded time, streaming new lines as progress notifications.
#include "k8s/stream.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/pods/log_filter.hpp"
#include "tools/pods/pod_common.hpp"
#include "tools/pods/pod_tools.hpp"
#include "util/error.hpp"

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
  const Call* ctx = nullptr;  // only used while `live`
  bool live = true;
  bool ended = false;
};

asio::awaitable<void> follow_pump(std::shared_ptr<FollowState> st) {
  for (;;) {
    auto chunk = co_await st->stream->read_some();
    if (!chunk) break;
    std::string batch;
    for (auto& line : st->splitter.feed(*chunk)) {
      if (st->filter->active() && !st->filter->matches(line)) continue;
      st->got.add(line, st->cap);
      if (batch.size() + line.size() + 1 <= kMaxProgressMessage) batch.append(line).push_back('\n');
    }
    if (!batch.empty() && st->live && st->ctx) {
      batch.pop_back();
      st->ctx->progress(static_cast<double>(st->got.matched), std::nullopt, std::move(batch));
    }
  }
  if (auto last = st->splitter.finish(); last && (!st->filter->active() || st->filter->matches(*last)))
    st->got.add(*last, st->cap);
  st->ended = true;
}

std::string log_path(const PodRef& r) {
  return fmt::format("/api/v1/namespaces/{}/pods/{}/log", k8s::url_encode(r.ns), k8s::url_encode(r.name));
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
  if (tail >= 0) q.emplace_back("tailLines", std::to_string(tail));
  if (auto s = opt_int(a, "sinceSeconds")) q.emplace_back("sinceSeconds", std::to_string(*s));
  if (auto t = opt_str(a, "sinceTime"); t && !t->empty()) {
    if (opt_int(a, "sinceSeconds")) fail(Errc::invalid_argument, "use sinceSeconds or sinceTime, not both");
    q.emplace_back("sinceTime", *t);
  }
  if (flag(a, "previous")) q.emplace_back("previous", "true");
  if (flag(a, "timestamps")) q.emplace_back("timestamps", "true");
  req.limit_bytes = static_cast<std::size_t>(opt_int(a, "limitBytes").value_or(kDefaultLimitBytes));
  bool follow = flag(a, "follow");
  if (follow && flag(a, "previous")) fail(Errc::invalid_argument, "follow cannot be combined with previous");

  Collected got;
  std::string ended;
  if (!follow) {
    // Without a filter the API server applies the byte cap; with one, the cap applies to what matches.
    if (!filter.active()) q.emplace_back("limitBytes", std::to_string(req.limit_bytes));
    k8s::Request r;
    r.target = k8s::Client::with_query(log_path(req.ref), q);
    r.accept = "*/*";
    auto res = co_await req.ref.client->call(std::move(r), "logs");
    LineSplitter sp;
    auto lines = sp.feed(res.body);
    if (auto last = sp.finish()) lines.push_back(std::move(*last));
    for (auto& l : lines)
      if (!filter.active() || filter.matches(l)) got.add(l, req.limit_bytes);
    if (!filter.active() && res.body.size() >= req.limit_bytes) got.truncated = true;
  } else {
    q.emplace_back("follow", "true");
    auto seconds = opt_int(a, "followSeconds").value_or(kDefaultFollowSeconds);
    auto st = std::make_shared<FollowState>();
    st->stream =
        co_await k8s::HttpStream::open(req.ref.client->transport(), k8s::Client::with_query(log_path(req.ref), q),
                                       "logs", env.settings().request_timeout);
    st->filter = filter_ptr;
    st->cap = req.limit_bytes;
    st->ctx = &c;
    auto* raw = st->stream.get();
    std::function<asio::awaitable<void>()> body = [st] { return follow_pump(st); };
    std::function<void()> stop = [raw] { raw->close(); };
    auto end = co_await k8s::run_bounded(body, stop, std::chrono::seconds(seconds));
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
  if (got.truncated)
    text += fmt::format("\n[output capped at {} bytes (limitBytes); narrow with tailLines, sinceSeconds or a filter]",
                        req.limit_bytes);
  if (follow) text += fmt::format("\n[{}]", ended);
  text = fit_text(text, env.settings().max_response_bytes > 1024 ? env.settings().max_response_bytes - 1024 : 0);
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

json::object logs_input_schema() {
  return schema::with_context(schema::object(
      {{"name", schema::string("pod name")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"container", schema::string("container (default: the only one, or the pod's "
                                    "kubectl.kubernetes.io/default-container annotation)")},
       {"tailLines", schema::integer("last N lines (default 100; -1 for all, still capped by limitBytes)", -1)},
       {"sinceSeconds", schema::integer("only lines newer than this many seconds", 1)},
       {"sinceTime", schema::string("only lines after this RFC 3339 time (e.g. 2024-01-01T00:00:00Z)")},
       {"previous", schema::boolean("log of the previous (restarted) container instance")},
       {"timestamps", schema::boolean("prefix each line with its RFC 3339 timestamp")},
       {"limitBytes", schema::integer("byte cap on the returned log (default 262144)", 1, kMaxLimitBytes)},
       {"filter", schema::string("keep only lines containing this text (applied to the fetched lines)")},
       {"regex", schema::string("keep only lines matching this ECMAScript regular expression")},
       {"follow", schema::boolean("keep streaming new lines for followSeconds; each batch is sent as a "
                                  "progress notification when the call has a progressToken")},
       {"followSeconds", schema::integer("how long to follow (default 30, max 300)", 1, kMaxFollowSeconds)}},
      {"name"}));
}

}  // namespace mk::tools
