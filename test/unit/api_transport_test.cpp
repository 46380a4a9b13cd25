// ApiTransport / Client against a fake API server on loopback (its own io thread): response
// size cap, JSON depth bound, big bodies parsed off the I/O thread, which requests are sent
// again after a dropped connection, and 429/503 retries.
#include "cli/options.hpp"
#include "fake_http.hpp"
#include "instrumentation/propagation.hpp"
#include "k8s/client.hpp"
#include "k8s/stream.hpp"
#include "util/blocking.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

using fake_http::read_req;
using fake_http::Req;
using fake_http::respond;

// Waits until the peer closes.
asio::awaitable<void> drain(tcp::socket& s) {
  char tmp[4096];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(tmp), asio::as_tuple(use_awaitable));
    if (ec) co_return;
  }
}

class FakeApi;
using Behaviour = asio::awaitable<void> (*)(FakeApi&, tcp::socket, int conn_no);

class FakeApi {
 public:
  explicit FakeApi(Behaviour b) : behaviour_(b) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeApi() {
    io_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acc_.local_endpoint().port()); }
  void count(const Req& r) { ++(r.method == "POST" ? posts : r.method == "GET" ? gets : others); }

  std::atomic<int> posts{0}, gets{0}, others{0}, connections{0};
  std::atomic<bool> flag{false};
  std::atomic<std::size_t> bytes_sent{0};
  std::string body;  // set before the first request

 private:
  asio::awaitable<void> accept_loop() {
    for (int n = 0;; ++n) {
      auto [ec, s] = co_await acc_.async_accept(asio::as_tuple(use_awaitable));
      if (ec) co_return;
      ++connections;
      asio::co_spawn(io_, behaviour_(*this, std::move(s), n), asio::detached);
    }
  }
  Behaviour behaviour_;
  asio::io_context io_;
  tcp::acceptor acc_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread thread_;
};

// Answers every request with the configured body, keep-alive.
asio::awaitable<void> serve_body(FakeApi& f, tcp::socket s, int) {
  std::string buf;
  while (auto r = co_await read_req(s, buf)) {
    f.count(*r);
    co_await respond(s, 200, f.body);
  }
}

mk::k8s::RestConfig rest(const FakeApi& f) {
  mk::k8s::RestConfig c;
  c.context = "fake";
  c.cluster.server = f.url();
  return c;
}

mk::k8s::TransportOptions opts() {
  mk::k8s::TransportOptions o;
  o.qps = 0;  // no client-side limit
  o.max_retry_wait = 1ms;
  o.request_timeout = 20s;
  return o;
}

// Runs `make()` on `io` to completion; returns the error it failed with, if any.
template <class Make>
std::optional<mk::Error> run(asio::io_context& io, Make make) {
  std::optional<mk::Error> err;
  std::string other;
  asio::co_spawn(io, std::move(make), [&](std::exception_ptr ep) {
    if (!ep) return;
    try {
      std::rethrow_exception(ep);
    } catch (const mk::Error& e) {
      err = e;
    } catch (const std::exception& e) {
      other = e.what();
    }
  });
  io.restart();
  io.run();
  EXPECT_EQ(other, "") << "only mk::Error may escape";
  return err;
}

}  // namespace

// Plain requests and the upgrades (exec, port-forward, log streams) share set_headers.
namespace {
// --propagate-trace-to-apiserver=true for one test (off is the default), restored however it ends.
struct PropagateOn {
  PropagateOn() { mk::trace::set_propagate_to_apiserver(true); }
  ~PropagateOn() { mk::trace::set_propagate_to_apiserver(false); }
};
}  // namespace

TEST(ApiTransport, HeadersAreTheSameForEveryKindOfRequest) {
  asio::io_context io;
  mk::k8s::RestConfig c;
  c.context = "v6";
  c.cluster.server = "http://[::1]:6443";
  c.auth.impersonate = "alice";
  auto o = opts();
  o.user_agent = "mcp-kubernetes/9.9";
  mk::k8s::ApiTransport t(io.get_executor(), c, o);
  // An IPv6 host needs its brackets in Host (plain requests once sent "::1:6443").
  EXPECT_EQ(t.host_header(), "[::1]:6443");
  http::fields f;
  auto ctx = *mk::trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ctx.trace_state = "a=1";
  {
    PropagateOn propagate;
    t.set_headers(f, "Bearer x", ctx);
  }
  EXPECT_EQ(f[http::field::host], "[::1]:6443");
  EXPECT_EQ(f[http::field::user_agent], "mcp-kubernetes/9.9");  // streams once said only "mcp-kubernetes"
  EXPECT_EQ(f[http::field::authorization], "Bearer x");
  EXPECT_EQ(f["Impersonate-User"], "alice");
  EXPECT_EQ(f["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(f["tracestate"], "a=1");
  http::fields none;
  t.set_headers(none, "", mk::trace::SpanContext{});
  EXPECT_EQ(none.count(http::field::authorization), 0u);
  EXPECT_EQ(none.count("traceparent"), 0u);
  // The default (--propagate-trace-to-apiserver=false): the same traced request goes without
  // the trace context.
  http::fields off;
  t.set_headers(off, "Bearer x", ctx);
  EXPECT_EQ(off.count("traceparent"), 0u);
  EXPECT_EQ(off.count("tracestate"), 0u);
  EXPECT_EQ(off[http::field::authorization], "Bearer x");
}

// An endless chunked answer: the read stops at the cap with a message that says what to do;
// nothing near the whole stream is buffered.
TEST(ApiTransport, OversizeChunkedBodyStopsAtTheCap) {
  FakeApi f([](FakeApi& f, tcp::socket s, int) -> asio::awaitable<void> {
    std::string buf;
    if (!co_await read_req(s, buf)) co_return;
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(head), use_awaitable);
    std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
    while (f.bytes_sent < (512u << 20)) {
      auto [ec, n] = co_await asio::async_write(s, asio::buffer(chunk), asio::as_tuple(use_awaitable));
      if (ec) break;
      f.bytes_sent += n;
    }
  });
  asio::io_context io;
  auto o = opts();
  o.max_response_bytes = 1 << 20;
  mk::k8s::Client c(io.get_executor(), rest(f), o);
  auto err = run(io, [&]() -> asio::awaitable<void> { co_await c.get_json("/api/v1/pods"); });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), mk::Errc::too_large);
  std::string m = err->what();
  EXPECT_NE(m.find("exceeds 1048576 bytes"), std::string::npos) << m;
  EXPECT_NE(m.find("--max-api-response-bytes"), std::string::npos) << m;
  EXPECT_NE(m.find("limit/continue"), std::string::npos) << m;
  EXPECT_LT(f.bytes_sent.load(), 512u << 20) << "the client kept reading past its cap";
}

// A Content-Length over the cap fails at the header, before any body is read.
TEST(ApiTransport, OversizeContentLengthFailsAtTheHeader) {
  FakeApi f([](FakeApi& f, tcp::socket s, int) -> asio::awaitable<void> {
    std::string buf;
    if (!co_await read_req(s, buf)) co_return;
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(head), use_awaitable);
    co_await drain(s);
    f.flag = true;
  });
  asio::io_context io;
  auto o = opts();
  o.max_response_bytes = 1 << 20;
  mk::k8s::Client c(io.get_executor(), rest(f), o);
  auto err = run(io, [&]() -> asio::awaitable<void> { co_await c.get_json("/api/v1/pods"); });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), mk::Errc::too_large) << err->what();
}

// Nesting bombs, small (parsed inline) and big (parsed on the compute pool): a clear error.
TEST(ApiTransport, JsonDepthIsBounded) {
  for (std::size_t depth : {10'000u, 400'000u}) {
    FakeApi f(serve_body);
    f.body = std::string(depth, '[') + std::string(depth, ']');
    asio::io_context io;
    mk::k8s::Client c(io.get_executor(), rest(f), opts());
    auto err = run(io, [&]() -> asio::awaitable<void> { co_await c.get_json("/api/v1/pods"); });
    ASSERT_TRUE(err) << depth;
    EXPECT_EQ(err->code(), mk::Errc::unavailable);
    EXPECT_NE(std::string(err->what()).find("nested deeper than 256 levels"), std::string::npos) << err->what();
  }
  // Deep but within the bound is fine.
  FakeApi f(serve_body);
  f.body = R"({"a":)" + std::string(200, '[') + std::string(200, ']') + "}";
  asio::io_context io;
  mk::k8s::Client c(io.get_executor(), rest(f), opts());
  EXPECT_FALSE(run(io, [&]() -> asio::awaitable<void> { co_await c.get_json("/x"); }));
}

// A big answer is parsed on the compute pool, not on the I/O thread. Proof without timing:
// with every compute thread held, the call cannot finish even after the client has read the
// whole answer and closed the connection (seen by the server); released, it finishes.
TEST(ApiTransport, BigBodyIsParsedOffTheIoThread) {
  FakeApi f([](FakeApi& f, tcp::socket s, int) -> asio::awaitable<void> {
    std::string buf;
    if (!co_await read_req(s, buf)) co_return;
    co_await respond(s, 200, f.body, "Connection: close\r\n");
    co_await drain(s);
    f.flag = true;  // the client has read everything and closed its end
  });
  std::string items;
  for (int i = 0; i < 20000; ++i)
    items += std::string(i ? "," : "") + R"({"metadata":{"name":"pod-)" + std::to_string(i) + R"("}})";
  f.body = R"({"kind":"PodList","items":[)" + items + "]}";
  ASSERT_GT(f.body.size(), mk::k8s::kOffloadParseBytes);

  auto& pool = mk::compute_pool();
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<std::size_t> held{0};
  for (std::size_t i = 0; i < pool.threads; ++i)
    asio::post(pool.pool, [released, &held] {
      ++held;
      released.wait();
    });
  while (held < pool.threads) std::this_thread::yield();

  asio::io_context io;
  mk::k8s::Client c(io.get_executor(), rest(f), opts());
  bool done = false, pending_after_read = false;
  std::size_t items_seen = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto v = co_await c.get_json("/api/v1/pods");
        items_seen = v.at("items").as_array().size();
        done = true;
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io);
        while (!f.flag) {
          t.expires_after(1ms);
          co_await t.async_wait(use_awaitable);
        }
        pending_after_read = !done;
        release.set_value();
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(pending_after_read) << "the answer was parsed on the I/O thread";
  EXPECT_TRUE(done);
  EXPECT_EQ(items_seen, 20000u);
}

TEST(ApiTransport, SerializeOffThreadMatchesSerialize) {
  asio::io_context io;
  boost::json::array big;
  for (int i = 0; i < 10000; ++i) big.push_back(boost::json::object{{"i", i}});
  boost::json::value small = {{"a", 1}}, large = big;
  std::string s1, s2;
  EXPECT_FALSE(run(io, [&]() -> asio::awaitable<void> {
    s1 = co_await mk::k8s::serialize_off_thread(small);
    s2 = co_await mk::k8s::serialize_off_thread(large);
  }));
  EXPECT_EQ(s1, boost::json::serialize(small));
  EXPECT_EQ(s2, boost::json::serialize(large));
}

namespace {
// Connection 0 answers its first request, then reads the second and drops the connection
// without answering; later connections answer normally.
asio::awaitable<void> drop_second_request(FakeApi& f, tcp::socket s, int conn) {
  std::string buf;
  for (int n = 0;; ++n) {
    auto r = co_await read_req(s, buf);
    if (!r) co_return;
    f.count(*r);
    if (conn == 0 && n == 1) co_return;  // closes the socket: the request was read, not answered
    co_await respond(s, 200, R"({"kind":"ConfigMap"})");
  }
}
}  // namespace

// The server read the POST and then dropped the pooled connection: it may have created the
// object, so the POST is not sent again (a duplicate generateName object, a false
// AlreadyExists) and the error says so.
TEST(ApiTransport, PostIsNotResentAfterTheServerReadIt) {
  FakeApi f(drop_second_request);
  asio::io_context io;
  mk::k8s::Client c(io.get_executor(), rest(f), opts());
  auto err = run(io, [&]() -> asio::awaitable<void> {
    co_await c.get_json("/api/v1/namespaces/a/configmaps/x");  // leaves the connection pooled
    co_await c.send_json(http::verb::post, "/api/v1/namespaces/a/configmaps", {}, R"({"metadata":{}})",
                         "application/json");
  });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), mk::Errc::unavailable);
  EXPECT_NE(std::string(err->what()).find("not repeated"), std::string::npos) << err->what();
  EXPECT_EQ(f.posts.load(), 1) << "the POST reached the server twice";
}

TEST(ApiTransport, PatchAndDeleteAreNotResentEither) {
  for (auto verb : {http::verb::patch, http::verb::delete_, http::verb::put}) {
    FakeApi f(drop_second_request);
    asio::io_context io;
    mk::k8s::Client c(io.get_executor(), rest(f), opts());
    auto err = run(io, [&]() -> asio::awaitable<void> {
      co_await c.get_json("/api/v1/namespaces/a/configmaps/x");
      co_await c.send_json(verb, "/api/v1/namespaces/a/configmaps/x", {}, "{}", "application/merge-patch+json");
    });
    ASSERT_TRUE(err) << http::to_string(verb);
    EXPECT_EQ(f.others.load(), 1) << http::to_string(verb) << " reached the server twice";
  }
}

// A GET is safe to repeat: it is, once, on a fresh connection.
TEST(ApiTransport, GetIsRetriedAfterADroppedConnection) {
  FakeApi f(drop_second_request);
  asio::io_context io;
  mk::k8s::Client c(io.get_executor(), rest(f), opts());
  EXPECT_FALSE(run(io, [&]() -> asio::awaitable<void> {
    co_await c.get_json("/api/v1/namespaces/a/configmaps/x");
    co_await c.get_json("/api/v1/namespaces/a/configmaps/y");
  }));
  EXPECT_EQ(f.gets.load(), 3);
  EXPECT_EQ(f.connections.load(), 2);
}

// A pooled connection the server closed while idle is noticed before anything is written, so
// even a POST goes out (once) on a fresh connection.
TEST(ApiTransport, PostAvoidsAPooledConnectionTheServerClosed) {
  FakeApi f([](FakeApi& f, tcp::socket s, int conn) -> asio::awaitable<void> {
    std::string buf;
    while (auto r = co_await read_req(s, buf)) {
      f.count(*r);
      co_await respond(s, 200, "{}");
      if (conn == 0) break;
    }
    s.close();
    if (conn == 0) f.flag = true;
  });
  asio::io_context io;
  mk::k8s::Client c(io.get_executor(), rest(f), opts());
  EXPECT_FALSE(run(io, [&]() -> asio::awaitable<void> { co_await c.get_json("/api/v1/namespaces/a"); }));
  while (!f.flag) std::this_thread::yield();
  EXPECT_FALSE(run(io, [&]() -> asio::awaitable<void> {
    co_await c.send_json(http::verb::post, "/api/v1/namespaces", {}, "{}", "application/json");
  }));
  EXPECT_EQ(f.posts.load(), 1);
  EXPECT_EQ(f.connections.load(), 2);
}

namespace {
// First answer: the status in f.body ("429", "503" or "503 retry"), then 200s.
asio::awaitable<void> throttle_once(FakeApi& f, tcp::socket s, int) {
  std::string buf;
  while (auto r = co_await read_req(s, buf)) {
    f.count(*r);
    if (f.posts + f.gets == 1) {
      int status = std::stoi(f.body.substr(0, 3));
      bool retry_after = f.body.find("retry") != std::string::npos;
      co_await respond(s, status, R"({"kind":"Status","message":"busy"})", retry_after ? "Retry-After: 0\r\n" : "");
    } else {
      co_await respond(s, 200, "{}");
    }
  }
}
}  // namespace

// 429/503 with Retry-After: the server did not process the request, so even a POST is sent
// again. A 503 without it may come from a proxy after the work was done: only GETs repeat.
TEST(ApiTransport, ThrottledRequestsAreRetriedWhenSafe) {
  struct Case {
    const char* reply;
    http::verb verb;
    int expected_sends;
    bool ok;
  } cases[] = {
      {"429 retry", http::verb::post, 2, true}, {"503 retry", http::verb::post, 2, true},
      {"503", http::verb::post, 1, false},      {"503", http::verb::get, 2, true},
      {"429", http::verb::get, 2, true},
  };
  for (auto& k : cases) {
    FakeApi f(throttle_once);
    f.body = k.reply;
    asio::io_context io;
    mk::k8s::Client c(io.get_executor(), rest(f), opts());
    auto err = run(io, [&]() -> asio::awaitable<void> {
      co_await c.send_json(k.verb, "/api/v1/namespaces", {}, "{}", "application/json");
    });
    EXPECT_EQ(!err, k.ok) << k.reply << " " << http::to_string(k.verb);
    EXPECT_EQ(f.posts + f.gets, k.expected_sends) << k.reply << " " << http::to_string(k.verb);
  }
}

TEST(ApiTransport, MaxApiResponseBytesIsAFlag) {
  const char* def[] = {"mcp-kubernetes", "serve"};
  EXPECT_EQ(mk::cli::parse(2, const_cast<char**>(def)).config.max_api_response_bytes, std::size_t{64} << 20);
  const char* set[] = {"mcp-kubernetes", "serve", "--max-api-response-bytes", "1048576"};
  auto p = mk::cli::parse(4, const_cast<char**>(set));
  EXPECT_EQ(p.command, mk::cli::Parsed::Command::serve);
  EXPECT_EQ(p.config.max_api_response_bytes, std::size_t{1} << 20);
}

namespace {
// Keeps each request's head (for header checks); answers 429 to the first request, then 200.
std::mutex g_heads_mu;
std::vector<std::string> g_heads;
asio::awaitable<void> record_heads(FakeApi& f, tcp::socket s, int) {
  std::string buf;
  for (;;) {
    auto [ec, n] =
        co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", asio::as_tuple(use_awaitable));
    if (ec) co_return;
    {
      std::lock_guard lk(g_heads_mu);
      g_heads.push_back(buf.substr(0, n));
    }
    buf.erase(0, n);
    if (!f.flag.exchange(true)) co_await respond(s, 429, "{}", "Retry-After: 0\r\n");
    else co_await respond(s, 200, f.body);
  }
}

struct CollectSpans : mk::trace::SpanSink {
  std::vector<std::unique_ptr<mk::trace::SpanData>> spans;
  void on_end(std::unique_ptr<mk::trace::SpanData> s) override { spans.push_back(std::move(s)); }
};
}  // namespace

// A client handed out for a traced call makes each API request a child span (named by the
// path template, with the retry count) and sends the span's traceparent; the shared client
// behind it stays untraced.
TEST(ApiTransport, TracedRequestsAreChildSpansAndCarryTraceparent) {
  PropagateOn propagate;
  auto sink = std::make_shared<CollectSpans>();
  mk::trace::set_global(std::make_shared<mk::trace::Tracer>(mk::trace::Sampler(), sink));
  g_heads.clear();
  FakeApi f(record_heads);
  f.body = R"({"kind":"PodList","items":[]})";
  asio::io_context io;
  auto base = std::make_shared<mk::k8s::Client>(io.get_executor(), rest(f), opts());
  auto parent = *mk::trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  auto traced = base->with_trace(parent);
  // Arguments named first: no temporaries inside co_await (g++ 12).
  auto traced_call = [&]() -> asio::awaitable<void> {
    std::string path = "/api/v1/namespaces/team-a/pods";
    mk::k8s::Query q{{"limit", "5"}};
    co_await traced->get_json(std::move(path), std::move(q));
  };
  auto plain_call = [&]() -> asio::awaitable<void> {
    std::string path = "/api/v1/namespaces/team-a/pods";
    mk::k8s::Query q;
    co_await base->get_json(std::move(path), std::move(q));
  };
  EXPECT_FALSE(run(io, traced_call));
  EXPECT_FALSE(run(io, plain_call));
  mk::trace::set_global(nullptr);

  ASSERT_EQ(sink->spans.size(), 1u);
  auto& s = *sink->spans[0];
  EXPECT_EQ(s.name, "GET /api/v1/namespaces/{namespace}/pods");
  EXPECT_EQ(s.kind, mk::trace::SpanKind::client);
  EXPECT_EQ(mk::trace::to_hex(s.context.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(mk::trace::to_hex(s.parent_span_id), "00f067aa0ba902b7");
  std::map<std::string, mk::trace::AttrValue> attrs;
  for (auto& a : s.attributes()) attrs[std::string(a.key)] = a.value;
  EXPECT_EQ(std::get<std::int64_t>(attrs["http.response.status_code"]), 200);
  EXPECT_EQ(std::get<std::int64_t>(attrs["http.request.resend_count"]), 1);  // the 429
  EXPECT_EQ(std::get<std::string_view>(attrs["k8s.namespace.name"]), "team-a");
  EXPECT_EQ(std::get<std::string_view>(attrs["k8s.verb"]), "list");
  EXPECT_EQ(std::get<std::string_view>(attrs["k8s.cluster.name"]), "fake");
  EXPECT_EQ(s.status, mk::trace::Status::unset);

  std::lock_guard lk(g_heads_mu);
  ASSERT_EQ(g_heads.size(), 3u);
  auto expect = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-" + mk::trace::to_hex(s.context.span_id) + "-01";
  EXPECT_NE(g_heads[0].find(expect), std::string::npos) << g_heads[0];
  EXPECT_NE(g_heads[1].find(expect), std::string::npos) << g_heads[1];
  EXPECT_EQ(g_heads[2].find("traceparent"), std::string::npos) << g_heads[2];
}

namespace {
// Answers each request with a chunked body of two pieces (a followed log), or with 403 and a
// Status when the path ends in "/denied"; keeps the heads.
asio::awaitable<void> stream_or_deny(FakeApi&, tcp::socket s, int) {
  std::string buf;
  auto [ec, n] =
      co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", asio::as_tuple(use_awaitable));
  if (ec) co_return;
  std::string head = buf.substr(0, n);
  {
    std::lock_guard lk(g_heads_mu);
    g_heads.push_back(head);
  }
  if (head.find("/denied") != std::string::npos) {
    co_await respond(s, 403, R"({"kind":"Status","status":"Failure","reason":"Forbidden","message":"no","code":403})");
    co_return;
  }
  std::string msg =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\nline1\n\r\n6\r\nline2\n\r\n0\r\n\r\n";
  co_await asio::async_write(s, asio::buffer(msg), asio::as_tuple(use_awaitable));
  co_await drain(s);
}

std::map<std::string, mk::trace::AttrValue> attrs_of(const mk::trace::SpanData& s) {
  std::map<std::string, mk::trace::AttrValue> m;
  for (auto& a : s.attributes()) m[std::string(a.key)] = a.value;
  return m;
}
}  // namespace

// A streamed GET (log follow) under a traced call is one client span from the request to its
// end, named by the path template, with the bytes received and how it ended; the request
// carries the span's traceparent. A refused stream is an error span with the API's status.
TEST(HttpStream, TracedStreamIsAClientSpanWithItsOutcome) {
  PropagateOn propagate;
  auto sink = std::make_shared<CollectSpans>();
  mk::trace::set_global(std::make_shared<mk::trace::Tracer>(mk::trace::Sampler(), sink));
  g_heads.clear();
  FakeApi f(stream_or_deny);
  asio::io_context io;
  mk::k8s::ApiTransport t(io.get_executor(), rest(f), opts());
  auto parent = *mk::trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  std::string got;
  auto follow = [&]() -> asio::awaitable<void> {
    std::string target = "/api/v1/namespaces/team-a/pods/web-1/log?follow=true";
    std::string what = "logs";
    auto s = co_await mk::k8s::HttpStream::open(t, std::move(target), std::move(what), 5s, parent);
    while (auto piece = co_await s->read_some()) got += *piece;
    s->end_span(mk::k8s::StreamEnd::finished);
  };
  auto denied = [&]() -> asio::awaitable<void> {
    std::string target = "/api/v1/namespaces/team-a/pods/web-1/denied";
    std::string what = "logs";
    auto s = co_await mk::k8s::HttpStream::open(t, std::move(target), std::move(what), 5s, parent);
  };
  EXPECT_FALSE(run(io, follow));
  auto err = run(io, denied);
  mk::trace::set_global(nullptr);
  EXPECT_EQ(got, "line1\nline2\n");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), mk::Errc::forbidden);

  ASSERT_EQ(sink->spans.size(), 2u);
  auto& s = *sink->spans[0];
  EXPECT_EQ(s.name, "GET /api/v1/namespaces/{namespace}/pods/{name}/log");
  EXPECT_EQ(s.kind, mk::trace::SpanKind::client);
  EXPECT_EQ(mk::trace::to_hex(s.parent_span_id), "00f067aa0ba902b7");
  auto a = attrs_of(s);
  EXPECT_EQ(std::get<std::int64_t>(a["http.response.status_code"]), 200);
  EXPECT_EQ(std::get<std::int64_t>(a["k8s.stream.bytes_received"]), 12);
  EXPECT_EQ(std::get<std::string_view>(a["k8s.stream.end"]), "finished");
  EXPECT_EQ(std::get<std::string_view>(a["k8s.namespace.name"]), "team-a");
  EXPECT_EQ(std::get<std::string_view>(a["url.path"]), "/api/v1/namespaces/team-a/pods/web-1/log");
  EXPECT_EQ(s.status, mk::trace::Status::unset);

  auto& d = *sink->spans[1];
  auto da = attrs_of(d);
  EXPECT_EQ(std::get<std::int64_t>(da["http.response.status_code"]), 403);
  EXPECT_EQ(std::get<std::string_view>(da["error.type"]), "Forbidden");
  EXPECT_EQ(d.status, mk::trace::Status::error);

  std::lock_guard lk(g_heads_mu);
  ASSERT_EQ(g_heads.size(), 2u);
  auto expect = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-" + mk::trace::to_hex(s.context.span_id) + "-01";
  EXPECT_NE(g_heads[0].find(expect), std::string::npos) << g_heads[0];
}
