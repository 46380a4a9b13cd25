#include "k8s/api_transport.hpp"

#include "instrumentation/propagation.hpp"

#include "util/blocking.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/signal.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <optional>

#include <sys/socket.h>
#include <cerrno>

namespace mk::k8s {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

struct ApiTransport::Connection {
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  beast::flat_buffer buffer;
  int exchanges = 0;  // completed request/response pairs: > 0 means it came from the pool
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

struct ApiTransport::ExecRun {
  explicit ExecRun(asio::any_io_executor ex) : done(std::move(ex)) {}
  Signal done;
  bool finished = false;
  std::exception_ptr error;
};

bool replayable(http::verb v) { return v == http::verb::get || v == http::verb::head || v == http::verb::options; }

namespace {
bool is_ip_literal(const std::string& h) {
  boost::system::error_code ec;
  asio::ip::make_address(h, ec);
  return !ec;
}

// `sent` tells the caller whether any byte of the request may have reached the server.
template <class Stream>
asio::awaitable<Response> exchange(Stream& s, beast::flat_buffer& buf, http::request<http::string_body>& req,
                                   std::size_t limit, bool& keep_alive, bool& sent) {
  auto [wec, written] = co_await http::async_write(s, req, asio::as_tuple(use_awaitable));
  sent = written > 0 || !wec;
  if (wec) throw boost::system::system_error(wec);
  http::response_parser<http::string_body> p;
  p.body_limit(limit);
  p.header_limit(64 * 1024);
  co_await http::async_read(s, buf, p, use_awaitable);
  auto& res = p.get();
  keep_alive = res.keep_alive();
  Response out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  if (auto ra = res[http::field::retry_after]; !ra.empty()) {
    out.retry_after_s = std::atoi(std::string(ra).c_str());
    out.has_retry_after = true;
  }
  co_return out;
}

// An idle pooled connection is usable only if nothing arrived on it meanwhile: EOF, a reset,
// a TLS close_notify or an unsolicited 408 all mean the server is done with it. Checking
// before writing lets even a POST move to a fresh connection, as the server saw nothing.
bool idle_connection_alive(beast::tcp_stream& s, const beast::flat_buffer& leftover) {
  if (leftover.size() > 0 || !s.socket().is_open()) return false;
  char b;
  ssize_t n = ::recv(s.socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool connection_dropped(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

int retry_after_seconds(const Response& r) { return std::max(1, r.retry_after_s); }
}  // namespace

ApiTransport::ApiTransport(asio::any_io_executor ex, RestConfig cfg, TransportOptions opts)
    : ex_(std::move(ex)), cfg_(std::move(cfg)), opts_(opts), tokens_(std::max(1, opts.burst)),
      last_refill_(std::chrono::steady_clock::now()) {
  auto u = boost::urls::parse_uri(cfg_.cluster.server);
  if (!u) fail(Errc::invalid_argument, fmt::format("invalid server URL \"{}\"", cfg_.cluster.server));
  tls_ = u->scheme() != "http";
  host_ = std::string(u->encoded_host());
  if (host_.size() > 1 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
  port_ = u->has_port() ? std::string(u->port()) : (tls_ ? "443" : "80");
  base_path_ = std::string(u->encoded_path());
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  if (cfg_.auth.has_auth_provider && cfg_.auth.token.empty() && !cfg_.auth.exec)
    log::warn("context {}: legacy auth-provider plugins are not supported; use an exec plugin", cfg_.context);
  build_ssl_context(cfg_.auth.client_cert_pem, cfg_.auth.client_key_pem);
}

ApiTransport::~ApiTransport() = default;

void ApiTransport::build_ssl_context(const std::string& cert_pem, const std::string& key_pem) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  try {
    if (!cfg_.cluster.ca_pem.empty()) ctx->add_certificate_authority(asio::buffer(cfg_.cluster.ca_pem));
    else ctx->set_default_verify_paths();
    if (!cert_pem.empty() && !key_pem.empty()) {
      ctx->use_certificate_chain(asio::buffer(cert_pem));
      ctx->use_private_key(asio::buffer(key_pem), ssl::context::pem);
    }
  } catch (const boost::system::system_error& e) {
    fail(Errc::invalid_argument, fmt::format("context {}: bad TLS material: {}", cfg_.context, e.what()));
  }
  ctx->set_verify_mode(cfg_.cluster.insecure_skip_tls_verify ? ssl::verify_none : ssl::verify_peer);
  ssl_ = std::move(ctx);
  idle_.clear();  // connections made with the old identity must not be reused
}

std::vector<std::pair<std::string, std::string>> ApiTransport::extra_headers() const {
  std::vector<std::pair<std::string, std::string>> h;
  if (!cfg_.auth.impersonate.empty()) h.emplace_back("Impersonate-User", cfg_.auth.impersonate);
  for (auto& g : cfg_.auth.impersonate_groups) h.emplace_back("Impersonate-Group", g);
  for (auto& [k, v] : cfg_.auth.impersonate_extra) h.emplace_back("Impersonate-Extra-" + k, v);
  return h;
}

void ApiTransport::invalidate_credentials(const std::string& auth) {
  if (exec_cred_ && (exec_cred_->token.empty() || "Bearer " + exec_cred_->token == auth)) exec_cred_.reset();
  if (!cfg_.auth.token_file.empty() && "Bearer " + file_token_ == auth) file_token_read_ = {};
}

// Single flight: whoever finds no run in flight starts the plugin; everyone arriving before it
// ends waits for that run and gets its credential or its error.
asio::awaitable<void> ApiTransport::refresh_exec_credential() {
  if (auto run = exec_run_) {
    while (!run->finished) co_await run->done.wait();
    if (run->error) std::rethrow_exception(run->error);
    co_return;
  }
  auto run = std::make_shared<ExecRun>(ex_);
  exec_run_ = run;
  try {
    auto cfg = *cfg_.auth.exec;
    auto cluster = cfg_.cluster;
    auto timeout = opts_.exec_timeout;
    auto job = [cfg, cluster, timeout] { return run_exec_plugin(cfg, cluster, timeout); };  // named: blocking.hpp
    auto cred = co_await run_blocking(std::move(job));
    bool new_cert =
        !cred.client_cert_pem.empty() && (!exec_cred_ || exec_cred_->client_cert_pem != cred.client_cert_pem);
    exec_cred_ = std::move(cred);
    if (new_cert) build_ssl_context(exec_cred_->client_cert_pem, exec_cred_->client_key_pem);
  } catch (...) {
    run->error = std::current_exception();
  }
  run->finished = true;
  if (exec_run_ == run) exec_run_.reset();
  run->done.notify();
  if (run->error) std::rethrow_exception(run->error);
}

asio::awaitable<std::string> ApiTransport::authorization() {
  auto& a = cfg_.auth;
  if (a.exec) {
    auto stale = [this] {
      return !exec_cred_ ||
             (exec_cred_->expiry && *exec_cred_->expiry - std::chrono::seconds(10) <= std::chrono::system_clock::now());
    };
    // A waiter can find the shared result already dropped by a 401 elsewhere: run again, a few times.
    if (stale()) co_await refresh_exec_credential();
    for (int i = 0; i < 2 && !exec_cred_; ++i) co_await refresh_exec_credential();
    if (!exec_cred_) fail(Errc::unauthorized, "exec credential plugin: its credential was rejected while in use");
    if (!exec_cred_->token.empty()) co_return "Bearer " + exec_cred_->token;
    co_return std::string();
  }
  if (!a.token.empty()) co_return "Bearer " + a.token;
  if (!a.token_file.empty()) {
    // Projected service-account tokens rotate; re-read at most once a minute (client-go does the same).
    auto now = std::chrono::steady_clock::now();
    if (file_token_.empty() || now - file_token_read_ > std::chrono::minutes(1)) {
      auto t = read_file(a.token_file);
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      file_token_ = std::move(t);
      file_token_read_ = now;
    }
    co_return "Bearer " + file_token_;
  }
  if (!a.username.empty()) co_return "Basic " + base64_encode(a.username + ":" + a.password);
  co_return std::string();
}

asio::awaitable<void> ApiTransport::rate_limit() {
  if (opts_.qps <= 0) co_return;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min<double>(std::max(1, opts_.burst), tokens_ + elapsed * opts_.qps);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      co_return;
    }
    asio::steady_timer t(ex_, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>((1.0 - tokens_) / opts_.qps)));
    co_await t.async_wait(use_awaitable);
  }
}

namespace {
// The stream's deadline does not cover name resolution, and getaddrinfo cannot be interrupted:
// past `timeout` the lookup is abandoned (it ends in the background, owning its state) and this
// fails. A host behind a DNS server that never answers (a workload cluster's endpoint is written
// by whoever controls its Cluster object) then costs a call no more than its connect timeout.
asio::awaitable<tcp::resolver::results_type> resolve_within(asio::any_io_executor ex, std::string host,
                                                            std::string port, std::chrono::milliseconds timeout) {
  struct State {
    explicit State(const asio::any_io_executor& e) : resolver(e), wake(e) {}
    tcp::resolver resolver;
    tcp::resolver::results_type eps;
    boost::system::error_code ec;
    bool done = false;
    Signal wake;
  };
  auto st = std::make_shared<State>(ex);
  st->resolver.async_resolve(host, port, [st](boost::system::error_code ec, tcp::resolver::results_type r) {
    st->ec = ec;
    st->eps = std::move(r);
    st->done = true;
    st->wake.notify();
  });
  {
    Deadline dl(ex, timeout, [st] { st->wake.notify(); });
    while (!st->done && !dl.passed()) co_await st->wake.wait();
  }
  if (!st->done) {
    st->resolver.cancel();
    fail(Errc::timeout, fmt::format("resolving {} took longer than {} ms", host, timeout.count()));
  }
  if (st->ec) throw boost::system::system_error(st->ec, "resolve " + host);
  co_return std::move(st->eps);
}
}  // namespace

asio::awaitable<std::unique_ptr<ApiTransport::Connection>> ApiTransport::acquire(bool fresh) {
  while (!fresh && !idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (idle_connection_alive(c->lowest(), c->buffer)) co_return c;
  }
  auto c = std::make_unique<Connection>();
  if (tls_) c->tls.emplace(ex_, *ssl_);
  else c->plain.emplace(ex_);
  auto& low = c->lowest();
  auto connect_timeout = opts_.connect_timeout.count() > 0 ? opts_.connect_timeout : opts_.request_timeout;
  auto eps = co_await resolve_within(ex_, host_, port_, connect_timeout);
  low.expires_after(connect_timeout);
  co_await low.async_connect(eps, use_awaitable);
  low.socket().set_option(tcp::no_delay(true));
  if (tls_) {
    std::string name = cfg_.cluster.tls_server_name.empty() ? host_ : cfg_.cluster.tls_server_name;
    if (!is_ip_literal(name)) SSL_set_tlsext_host_name(c->tls->native_handle(), name.c_str());
    if (!cfg_.cluster.insecure_skip_tls_verify) c->tls->set_verify_callback(ssl::host_name_verification(name));
    co_await c->tls->async_handshake(ssl::stream_base::client, use_awaitable);
  }
  co_return c;
}

std::string ApiTransport::host_header() const {
  bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + port_;
}

void ApiTransport::set_headers(http::fields& f, const std::string& authorization,
                               const trace::SpanContext& trace) const {
  f.set(http::field::host, host_header());
  f.set(http::field::user_agent, opts_.user_agent);
  if (!authorization.empty()) f.set(http::field::authorization, authorization);
  for (auto& [k, v] : extra_headers()) f.insert(k, v);
  if (trace.valid() && trace::propagate_to_apiserver()) {
    f.set("traceparent", trace::format_traceparent(trace));
    if (!trace.trace_state.empty()) f.set("tracestate", trace.trace_state);
  }
}

void ApiTransport::release(std::unique_ptr<Connection> c) {
  if (idle_.size() < opts_.max_idle_connections) idle_.push_back(std::move(c));
}

asio::awaitable<Response> ApiTransport::send_once(const Request& r, const std::string& auth) {
  http::request<http::string_body> req{r.method, base_path_ + r.target, 11};
  set_headers(req, auth, r.trace);
  req.set(http::field::accept, r.accept);
  if (!r.body.empty() || r.method == http::verb::post || r.method == http::verb::put || r.method == http::verb::patch) {
    req.set(http::field::content_type, r.content_type.empty() ? "application/json" : r.content_type);
    req.body() = r.body;
  }
  req.prepare_payload();
  auto timeout = r.timeout.count() > 0 ? r.timeout : opts_.request_timeout;
  // A pooled connection may have been closed by the server while idle. One retry on a fresh
  // connection covers that, but only when a duplicate is impossible (no byte of the request
  // was sent) or harmless (a replayable method): a POST the server read and then dropped the
  // connection on may have been done (net/http's rule; client-go retries only GETs).
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> c;
    try {
      c = co_await acquire(attempt > 0);
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) throw;
      if (e.code() == beast::error::timeout)
        fail(Errc::unavailable, fmt::format("connecting to {} timed out", cfg_.cluster.server));
      fail(Errc::unavailable, fmt::format("cannot connect to {}: {}", cfg_.cluster.server, e.code().message()));
    }
    c->lowest().expires_after(timeout);
    bool keep = false, sent = false, reused = c->exchanges > 0;
    try {
      // Not a ?: expression: g++ 12 destroys the result of a co_await inside ?: twice.
      Response res;
      if (c->tls) res = co_await exchange(*c->tls, c->buffer, req, opts_.max_response_bytes, keep, sent);
      else res = co_await exchange(*c->plain, c->buffer, req, opts_.max_response_bytes, keep, sent);
      if (keep) {
        ++c->exchanges;
        c->lowest().expires_never();
        release(std::move(c));
      }
      co_return res;
    } catch (const boost::system::system_error& e) {
      auto ec = e.code();
      if (ec == asio::error::operation_aborted) throw;
      if (ec == beast::error::timeout)
        fail(Errc::timeout, fmt::format("API server did not answer within {} s", timeout.count() / 1000.0));
      if (ec == http::error::body_limit)
        fail(Errc::too_large, fmt::format("API response exceeds {} bytes (--max-api-response-bytes); use "
                                          "limit/continue or label/field selectors to ask for less",
                                          opts_.max_response_bytes));
      if (reused && attempt == 0 && connection_dropped(ec) && (!sent || replayable(r.method))) continue;
      if (reused && connection_dropped(ec))
        fail(Errc::unavailable,
             fmt::format("the connection to {} closed after the {} request was sent; not repeated, as it may have "
                         "taken effect: check before trying again",
                         cfg_.cluster.server, std::string(http::to_string(r.method))));
      fail(Errc::unavailable, fmt::format("request to {} failed: {}", cfg_.cluster.server, ec.message()));
    }
  }
}

asio::awaitable<Response> ApiTransport::send_attempts(Request r, SendStats* stats) {
  bool reauthed = false;
  for (int attempt = 0;; ++attempt) {
    stats->attempts = attempt + 1;
    auto before = std::chrono::steady_clock::now();
    co_await rate_limit();
    stats->throttled += std::chrono::steady_clock::now() - before;
    std::string auth = co_await authorization();
    Response res = co_await send_once(r, auth);
    if (res.status == 401 && !reauthed && (cfg_.auth.exec || !cfg_.auth.token_file.empty())) {
      invalidate_credentials(auth);  // the plugin's token or the rotated file may be newer
      reauthed = true;
      continue;
    }
    // 429 and 503 with Retry-After say the request was not processed (API priority and
    // fairness, a starting server), so even a POST is sent again; without the header only
    // replayable methods are (client-go's checkWait).
    if ((res.status == 429 || res.status == 503) && attempt < opts_.max_retries &&
        (res.has_retry_after || replayable(r.method))) {
      auto wait =
          std::min<std::chrono::milliseconds>(std::chrono::seconds(retry_after_seconds(res)), opts_.max_retry_wait);
      log::debug("API server answered {}; retrying in {} ms{}", res.status, wait.count(), trace::log_fields(r.trace));
      asio::steady_timer t(ex_, wait);
      co_await t.async_wait(use_awaitable);
      continue;
    }
    co_return res;
  }
}

trace::Span ApiTransport::start_span(http::verb method, std::string_view target,
                                     const trace::SpanContext& parent) const {
  if (!parent.sampled()) return {};
  auto info = describe_path(target, method);
  auto verb = http::to_string(method);
  std::string name;
  name.reserve(verb.size() + 1 + info.templ.size());
  name.append(verb).append(" ").append(info.templ);
  auto span = trace::start_child(std::move(name), trace::SpanKind::client, parent);
  if (!span.recording()) return span;
  span.set("http.request.method", std::string_view(http::to_string(method)));
  span.set("url.template", info.templ);
  span.set("url.path", target.substr(0, target.find('?')));
  span.set("server.address", host_);
  span.set("server.port", static_cast<std::int64_t>(std::atoi(port_.c_str())));
  span.set("k8s.cluster.name", cfg_.context);
  span.set("k8s.verb", info.verb);
  if (!info.resource.empty()) span.set("k8s.resource", info.resource);
  if (!info.ns.empty()) span.set("k8s.namespace.name", info.ns);
  return span;
}

void record_error(trace::Span& span, const std::exception& e) {
  if (!span.recording()) return;
  if (auto* me = dynamic_cast<const Error*>(&e)) span.set("error.type", to_string(me->code()));
  else if (auto* se = dynamic_cast<const boost::system::system_error*>(&e))
    span.set("error.type", se->code() == asio::error::operation_aborted ? "cancelled" : "transport");
  else span.set("error.type", "internal");
  span.set_status(trace::Status::error, e.what());
}

asio::awaitable<Response> ApiTransport::send(Request r) {
  SendStats stats;
  if (!r.trace.sampled()) co_return co_await send_attempts(std::move(r), &stats);
  auto span = start_span(r.method, r.target, r.trace);
  if (span.recording()) r.trace = span.context();  // the API server continues from this span
  auto finish = [&] {
    if (stats.attempts > 1) span.set("http.request.resend_count", static_cast<std::int64_t>(stats.attempts - 1));
    if (stats.throttled > std::chrono::microseconds(100))
      span.set("k8s.client.throttle_wait_ms", std::chrono::duration<double, std::milli>(stats.throttled).count());
  };
  try {
    Response res = co_await send_attempts(std::move(r), &stats);
    finish();
    span.set("http.response.status_code", static_cast<std::int64_t>(res.status));
    // Client spans: 4xx and 5xx are errors (OpenTelemetry HTTP semantic conventions).
    if (res.status >= 400) {
      span.set("error.type", std::to_string(res.status));
      span.set_status(trace::Status::error, "");
    }
    co_return res;
  } catch (const std::exception& e) {
    finish();
    record_error(span, e);
    throw;
  }
}

PathInfo describe_path(std::string_view target, http::verb method) {
  PathInfo p;
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = target.size() > path.size() ? target.substr(path.size() + 1) : std::string_view();
  // The first segments are all a template looks at (the deepest is a proxy path's start, at
  // most 9 in); the rest only make it "{path}".
  std::array<std::string_view, 12> seg;
  std::size_t n = 0;
  for (std::size_t i = 0; i < path.size() && n < seg.size();) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) seg[n++] = path.substr(i, j - i);
    i = j + 1;
  }
  auto add = [&](std::string_view a, std::string_view b = {}) {
    p.templ += a;
    p.templ += b;
  };
  p.templ.reserve(path.size() + 24);
  std::size_t idx = 0;
  if (n >= 2 && seg[0] == "api") idx = 2;
  else if (n >= 3 && seg[0] == "apis") idx = 3;
  for (std::size_t i = 0; i < idx; ++i) add("/", seg[i]);
  bool named = false;
  if (idx == 0) {
    // Not a resource path (/readyz, /version, /apis): the first segment names it.
    if (n == 0) add("/");
    else add("/", seg[0]);
    if (n > 1) add("/{path}");
  } else {
    const std::string_view* rest = seg.data() + idx;
    std::size_t rn = n - idx, k = 0;
    if (rn >= 3 && rest[0] == "namespaces") {
      p.ns = rest[1];
      add("/namespaces/{namespace}");
      k = 2;
    }
    if (k < rn) {
      p.resource = rest[k];
      add("/", p.resource);
      if (p.resource == "namespaces" && k + 1 < rn) p.ns = rest[k + 1];
    }
    if (k + 1 < rn) {
      add("/{name}");
      named = true;
    }
    if (k + 2 < rn) add("/", rest[k + 2]);  // subresource: log, status, scale...
    if (k + 3 < rn) add("/{path}");         // proxy paths
  }
  bool watch = query.find("watch=true") != std::string_view::npos || query.find("watch=1") != std::string_view::npos;
  switch (method) {
    case http::verb::get: p.verb = named ? "get" : (watch ? "watch" : "list"); break;
    case http::verb::post: p.verb = "create"; break;
    case http::verb::put: p.verb = "update"; break;
    case http::verb::patch: p.verb = "patch"; break;
    case http::verb::delete_: p.verb = named ? "delete" : "deletecollection"; break;
    default: p.verb = http::to_string(method); break;
  }
  return p;
}

}  // namespace mk::k8s
