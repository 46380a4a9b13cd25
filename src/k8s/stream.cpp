#include "k8s/stream.hpp"

#include "k8s/status_error.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace mk::k8s {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

void ApiConnection::close() {
  boost::system::error_code ec;
  auto& s = lowest().socket();
  if (s.is_open()) {
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
  }
}

std::string api_base_path(const ApiTransport& t) {
  auto u = boost::urls::parse_uri(t.config().cluster.server);
  if (!u) return {};
  std::string p(u->encoded_path());
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

void record_stream_end(trace::Span& span, StreamEnd end) {
  if (!span.recording()) return;
  span.set("k8s.stream.end", end == StreamEnd::finished   ? "finished"
                             : end == StreamEnd::deadline ? "deadline"
                                                          : "cancelled");
}

asio::awaitable<std::unique_ptr<ApiConnection>> dial(ApiTransport& t, std::chrono::milliseconds timeout) {
  auto ex = t.executor();
  auto c = std::make_unique<ApiConnection>();
  if (t.tls()) c->tls.emplace(ex, t.ssl_context());
  else c->plain.emplace(ex);
  auto& low = c->lowest();
  low.expires_after(timeout);
  const auto& server = t.config().cluster.server;
  try {
    tcp::resolver resolver(ex);
    auto eps = co_await resolver.async_resolve(t.host(), t.port(), use_awaitable);
    co_await low.async_connect(eps, use_awaitable);
    low.socket().set_option(tcp::no_delay(true));
    if (c->tls) {
      const auto& cl = t.config().cluster;
      std::string name = cl.tls_server_name.empty() ? t.host() : cl.tls_server_name;
      boost::system::error_code ec;
      asio::ip::make_address(name, ec);
      if (ec) SSL_set_tlsext_host_name(c->tls->native_handle(), name.c_str());
      if (!cl.insecure_skip_tls_verify) c->tls->set_verify_callback(ssl::host_name_verification(name));
      co_await c->tls->async_handshake(ssl::stream_base::client, use_awaitable);
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;
    if (e.code() == beast::error::timeout) fail(Errc::timeout, fmt::format("connecting to {} timed out", server));
    fail(Errc::unavailable, fmt::format("cannot connect to {}: {}", server, e.code().message()));
  }
  low.expires_never();
  co_return c;
}

struct HttpStream::Parser {
  http::response_parser<http::buffer_body> p;
};

HttpStream::~HttpStream() {
  if (span_.recording()) span_.set("k8s.stream.bytes_received", static_cast<std::int64_t>(bytes_));
}

void HttpStream::end_span(StreamEnd end) {
  if (!span_.recording()) return;
  record_stream_end(span_, end);
  span_.set("k8s.stream.bytes_received", static_cast<std::int64_t>(bytes_));
  span_.end();
}

namespace {
template <class Stream>
asio::awaitable<void> send_and_read_header(Stream& s, beast::flat_buffer& buf, http::request<http::empty_body>& req,
                                           http::response_parser<http::buffer_body>& p) {
  co_await http::async_write(s, req, use_awaitable);
  co_await http::async_read_header(s, buf, p, use_awaitable);
}

template <class Stream>
asio::awaitable<std::size_t> read_body_piece(Stream& s, beast::flat_buffer& buf,
                                             http::response_parser<http::buffer_body>& p, char* out, std::size_t n) {
  // read_some, not read: a streamed body must be handed on as it arrives, not when `n` bytes
  // have accumulated. A read may parse only framing (chunk headers), so loop until body or end.
  for (;;) {
    p.get().body().data = out;
    p.get().body().size = n;
    auto [ec, unused] = co_await http::async_read_some(s, buf, p, asio::as_tuple(use_awaitable));
    (void)unused;
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw boost::system::system_error(ec);
    auto got = n - p.get().body().size;
    if (got > 0 || p.is_done()) co_return got;
  }
}
}  // namespace

asio::awaitable<std::unique_ptr<HttpStream>> HttpStream::open(ApiTransport& t, std::string target, std::string what,
                                                              std::chrono::milliseconds timeout,
                                                              trace::SpanContext parent) {
  std::unique_ptr<HttpStream> s(new HttpStream());
  s->span_ = t.start_span(http::verb::get, target, parent);
  if (s->span_.recording()) parent = s->span_.context();  // the API server continues from this span
  try {
    co_await s->start(t, std::move(target), what, timeout, parent);
  } catch (const std::exception& e) {
    record_error(s->span_, e);
    throw;
  }
  co_return s;
}

asio::awaitable<void> HttpStream::start(ApiTransport& t, std::string target, const std::string& what,
                                        std::chrono::milliseconds timeout, const trace::SpanContext& trace) {
  auto auth = co_await t.authorization();
  conn_ = co_await dial(t, timeout);
  parser_ = std::make_unique<Parser>();
  auto& p = parser_->p;
  p.body_limit(boost::none);  // the caller bounds the stream by time and its own byte cap
  p.header_limit(64 * 1024);
  http::request<http::empty_body> req{http::verb::get, api_base_path(t) + target, 11};
  t.set_headers(req, auth, trace);
  req.set(http::field::accept, "*/*");
  auto& low = conn_->lowest();
  low.expires_after(timeout);
  try {
    if (conn_->tls) co_await send_and_read_header(*conn_->tls, buffer_, req, p);
    else co_await send_and_read_header(*conn_->plain, buffer_, req, p);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;
    if (e.code() == beast::error::timeout)
      fail(Errc::timeout, fmt::format("API server did not answer within {} s", timeout.count() / 1000.0));
    fail(Errc::unavailable, fmt::format("{}: {}", what, e.code().message()));
  }
  auto status = p.get().result_int();
  if (span_.recording()) span_.set("http.response.status_code", static_cast<std::int64_t>(status));
  if (status / 100 != 2) {
    // Read the error body (a Status), capped, still under the timeout.
    Response r;
    r.status = status;
    r.content_type = std::string(p.get()[http::field::content_type]);
    char chunk[8192];
    try {
      while (!p.is_done() && r.body.size() < 64 * 1024) {
        std::size_t n = 0;
        if (conn_->tls) n = co_await read_body_piece(*conn_->tls, buffer_, p, chunk, sizeof chunk);
        else n = co_await read_body_piece(*conn_->plain, buffer_, p, chunk, sizeof chunk);
        r.body.append(chunk, n);
      }
    } catch (const boost::system::system_error&) {
      // Use what arrived.
    }
    close();
    throw_status(r, what);
  }
  low.expires_never();
}

asio::awaitable<std::optional<std::string>> HttpStream::read_some(std::size_t max) {
  auto& p = parser_->p;
  if (p.is_done()) co_return std::nullopt;
  std::string out(max, '\0');
  std::size_t n = 0;
  try {
    if (conn_->tls) n = co_await read_body_piece(*conn_->tls, buffer_, p, out.data(), max);
    else n = co_await read_body_piece(*conn_->plain, buffer_, p, out.data(), max);
  } catch (const boost::system::system_error& e) {
    auto ec = e.code();
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == ssl::error::stream_truncated ||
        ec == http::error::partial_message)
      co_return std::nullopt;
    throw;
  }
  out.resize(n);
  bytes_ += n;
  if (n == 0 && p.is_done()) co_return std::nullopt;
  co_return out;
}

namespace {
struct BoundedState {
  explicit BoundedState(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  bool done = false;
  std::exception_ptr err;
};

asio::awaitable<void> run_body(std::shared_ptr<BoundedState> st, std::function<asio::awaitable<void>()> body) {
  try {
    co_await body();
  } catch (...) {
    st->err = std::current_exception();
  }
  st->done = true;
  st->timer.cancel();
}
}  // namespace

asio::awaitable<StreamEnd> run_bounded(std::function<asio::awaitable<void>()> body, std::function<void()> stop,
                                       std::chrono::steady_clock::duration limit) {
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<BoundedState>(ex);
  st->timer.expires_after(limit);
  asio::co_spawn(ex, run_body(st, std::move(body)), asio::detached);
  auto [ec] = co_await st->timer.async_wait(asio::as_tuple(use_awaitable));
  if (st->done) {
    if (st->err) std::rethrow_exception(st->err);
    co_return StreamEnd::finished;
  }
  stop();
  co_return ec ? StreamEnd::cancelled : StreamEnd::deadline;
}

}  // namespace mk::k8s
