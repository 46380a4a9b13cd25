#include "auth/valkey_store.hpp"

#include "auth/resp.hpp"
#include "util/error.hpp"
#include "util/signal.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <charconv>
#include <deque>
#include <optional>
#include <vector>

#include <sys/socket.h>
#include <cerrno>

namespace mk::auth {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
using boost::system::error_code;
using resp::Value;

namespace {

constexpr std::string_view kUrlHelp = "expected redis://host:port, rediss://host:port or host:port";

bool parse_port(std::string_view s, std::string& out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return false;
  out = std::to_string(v);
  return true;
}

[[noreturn]] void bad_url(std::string_view why) {
  fail(Errc::invalid_argument, fmt::format("invalid Valkey URL: {} ({})", why, kUrlHelp));
}

bool is_ip_literal(const std::string& h) {
  error_code ec;
  asio::ip::make_address(h, ec);
  return !ec;
}

// An idle connection is usable only if nothing arrived on it meanwhile: RESP2 without pub/sub
// has no unsolicited data, so EOF, a reset, a TLS close_notify or an error line (the server's
// idle `timeout`, a restart) all mean it is gone. Checking before writing lets even a
// non-idempotent command move to a fresh connection, as the server saw nothing.
bool idle_connection_alive(beast::tcp_stream& s, const std::string& leftover) {
  if (!leftover.empty() || !s.socket().is_open()) return false;
  char b;
  ssize_t n = ::recv(s.socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool connection_dropped(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

struct Conn {
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  std::string buf;  // bytes read past the last parsed reply
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

// Runs only when the key is new: the window starts at the first increment and later
// increments never extend it. pcall turns a non-number into our own error code.
constexpr std::string_view kIncrScript = R"(local n = redis.pcall('INCR', KEYS[1])
if type(n) == 'table' and n.err then return redis.error_reply('NOTNUM counter key holds a non-number') end
local w = tonumber(ARGV[1])
if n == 1 and w > 0 then redis.call('PEXPIRE', KEYS[1], w) end
return n)";

class ValkeyStore final : public Store {
 public:
  ValkeyStore(asio::any_io_executor ex, ValkeyOptions opt, ValkeyEndpoint ep)
      : ex_(std::move(ex)), opt_(std::move(opt)), ep_(std::move(ep)) {
    limits_.max_bytes = opt_.max_reply_bytes;
    if (ep_.tls) {
      ssl_.emplace(ssl::context::tls_client);
      ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      try {
        if (!opt_.ca_file.empty()) ssl_->load_verify_file(opt_.ca_file);
        else ssl_->set_default_verify_paths();
      } catch (const boost::system::system_error& e) {
        fail(Errc::invalid_argument, fmt::format("Valkey CA file {}: {}", opt_.ca_file, e.code().message()));
      }
      ssl_->set_verify_mode(opt_.insecure_skip_verify ? ssl::verify_none : ssl::verify_peer);
    }
  }

  asio::awaitable<std::optional<std::string>> get(std::string key) override {
    std::string cmd;
    resp::encode(cmd, {"GET", prefixed(key)});
    auto r = co_await run("GET", std::move(cmd), 1, true);
    auto& v = reply(r[0], "GET");
    if (v.is_null()) co_return std::nullopt;
    if (v.type != Value::Type::bulk) unexpected("GET");
    co_return std::move(v.str);
  }

  asio::awaitable<void> put(std::string key, std::string value, Ttl ttl) override {
    std::string cmd = set_command(key, value, ttl, "");
    auto r = co_await run("SET", std::move(cmd), 1, true);
    if (reply(r[0], "SET").type != Value::Type::simple) unexpected("SET");
  }

  asio::awaitable<bool> put_if_absent(std::string key, std::string value, Ttl ttl) override {
    std::string cmd = set_command(key, value, ttl, "NX");
    auto r = co_await run("SET NX", std::move(cmd), 1, false);
    auto& v = reply(r[0], "SET NX");
    if (v.is_null()) co_return false;
    if (v.type != Value::Type::simple) unexpected("SET NX");
    co_return true;
  }

  asio::awaitable<bool> put_if_present(std::string key, std::string value, Ttl ttl) override {
    std::string cmd = set_command(key, value, ttl, "XX");
    auto r = co_await run("SET XX", std::move(cmd), 1, false);
    auto& v = reply(r[0], "SET XX");
    if (v.is_null()) co_return false;
    if (v.type != Value::Type::simple) unexpected("SET XX");
    co_return true;
  }

  asio::awaitable<std::optional<std::string>> take(std::string key) override {
    std::string cmd;
    resp::encode(cmd, {"GETDEL", prefixed(key)});
    auto r = co_await run("GETDEL", std::move(cmd), 1, false);
    auto& v = reply(r[0], "GETDEL");
    if (v.is_null()) co_return std::nullopt;
    if (v.type != Value::Type::bulk) unexpected("GETDEL");
    co_return std::move(v.str);
  }

  asio::awaitable<bool> erase(std::string key) override {
    std::string cmd;
    resp::encode(cmd, {"DEL", prefixed(key)});
    auto r = co_await run("DEL", std::move(cmd), 1, false);
    auto& v = reply(r[0], "DEL");
    if (v.type != Value::Type::integer) unexpected("DEL");
    co_return v.integer > 0;
  }

  asio::awaitable<bool> touch(std::string key, Ttl ttl) override {
    std::string cmd;
    resp::encode(cmd, {"PEXPIRE", prefixed(key), std::to_string(std::max<std::int64_t>(1, ttl.count()))});
    auto r = co_await run("PEXPIRE", std::move(cmd), 1, true);
    auto& v = reply(r[0], "PEXPIRE");
    if (v.type != Value::Type::integer) unexpected("PEXPIRE");
    co_return v.integer > 0;
  }

  asio::awaitable<std::int64_t> incr(std::string key, Ttl window) override {
    std::string cmd;
    std::string ms = std::to_string(std::max<std::int64_t>(0, window.count()));
    resp::encode(cmd, {"EVAL", kIncrScript, "1", prefixed(key), ms});
    auto r = co_await run("INCR", std::move(cmd), 1, false);
    auto& v = r[0];
    if (v.is_error() && v.str.starts_with("NOTNUM "))
      fail(Errc::invalid_argument, "store: counter key holds a non-number");
    if (reply(v, "INCR").type != Value::Type::integer) unexpected("INCR");
    co_return v.integer;
  }

  asio::awaitable<std::string> check() override {
    std::string why;
    try {
      std::string cmd;
      resp::encode(cmd, {"PING"});
      auto r = co_await run("PING", std::move(cmd), 1, true);
      if (reply(r[0], "PING").type != Value::Type::simple) unexpected("PING");
    } catch (const std::exception& e) {
      why = e.what();
    }
    co_return why;
  }

 private:
  // Holds one of the pool's places from acquire() to the end of a command.
  class Slot {
   public:
    explicit Slot(ValkeyStore& s) : s_(s) {}
    ~Slot() { s_.release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    ValkeyStore& s_;
  };

  // A caller waiting for a pool place. Places are handed over first come, first served, one
  // wake-up per release (no thundering herd).
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex) : wake(std::move(ex)) {}
    Signal wake;
    bool granted = false;
  };

  std::string prefixed(const std::string& key) const { return opt_.key_prefix + key; }

  // `condition`: "", "NX" (only if absent) or "XX" (only if present).
  std::string set_command(const std::string& key, const std::string& value, Ttl ttl, std::string_view condition) const {
    std::string k = prefixed(key);
    std::string ms = std::to_string(ttl.count());
    std::vector<std::string_view> args{"SET", k, value};
    if (!condition.empty()) args.push_back(condition);
    if (ttl.count() > 0) {
      args.push_back("PX");
      args.push_back(ms);
    }
    std::string cmd;
    resp::encode(cmd, args);
    return cmd;
  }

  Value& reply(Value& v, std::string_view op) const {
    if (v.is_error()) fail(Errc::unavailable, fmt::format("Valkey {}: {} failed: {}", ep_.address, op, v.str));
    return v;
  }
  [[noreturn]] void unexpected(std::string_view op) const {
    fail(Errc::unavailable, fmt::format("Valkey {}: unexpected reply type to {}", ep_.address, op));
  }

  // Waits (bounded by command_timeout) for one of the pool_size places.
  asio::awaitable<void> acquire() {
    if (busy_ < opt_.pool_size && queue_.empty()) {
      ++busy_;
      co_return;
    }
    if (queue_.size() >= opt_.max_waiters)
      fail(Errc::unavailable,
           fmt::format("Valkey {}: {} callers already wait for a connection", ep_.address, opt_.max_waiters));
    auto w = std::make_shared<Waiter>(ex_);
    queue_.push_back(w);
    struct Leave {  // also when the coroutine is destroyed while waiting
      std::deque<std::shared_ptr<Waiter>>& q;
      const std::shared_ptr<Waiter>& w;
      ~Leave() {
        if (!w->granted) std::erase(q, w);
      }
    } leave{queue_, w};
    Deadline dl(ex_, opt_.command_timeout, [w] { w->wake.notify(); });
    while (!w->granted && !dl.passed()) co_await w->wake.wait();
    if (!w->granted)
      fail(Errc::timeout, fmt::format("Valkey {}: no connection free within {} ms ({} in use)", ep_.address,
                                      opt_.command_timeout.count(), opt_.pool_size));
    // The place was handed over by release(): busy_ already counts it.
  }

  void release() {
    if (!queue_.empty()) {
      auto w = std::move(queue_.front());
      queue_.pop_front();
      w->granted = true;
      w->wake.notify();
      return;
    }
    --busy_;
  }

  std::unique_ptr<Conn> take_idle() {
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (idle_connection_alive(c->lowest(), c->buf)) return c;
    }
    return nullptr;
  }

  asio::awaitable<std::vector<tcp::endpoint>> resolve() {
    std::vector<tcp::endpoint> eps;
    if (is_ip_literal(ep_.host)) {
      eps.emplace_back(asio::ip::make_address(ep_.host), static_cast<unsigned short>(std::stoi(ep_.port)));
      co_return eps;
    }
    // The resolver runs getaddrinfo on a thread that cannot be interrupted: wait for it with a
    // deadline and let a late answer land in the shared state.
    struct State {
      explicit State(asio::any_io_executor ex) : done(std::move(ex)) {}
      Signal done;
      bool finished = false;
      error_code ec;
      tcp::resolver::results_type results;
    };
    auto st = std::make_shared<State>(ex_);
    auto resolver = std::make_shared<tcp::resolver>(ex_);
    resolver->async_resolve(ep_.host, ep_.port, [st, resolver](const error_code& ec, tcp::resolver::results_type r) {
      st->ec = ec;
      st->results = std::move(r);
      st->finished = true;
      st->done.notify();
    });
    Deadline dl(ex_, opt_.connect_timeout, [st] { st->done.notify(); });
    while (!st->finished && !dl.passed()) co_await st->done.wait();
    if (!st->finished) {
      resolver->cancel();
      fail(Errc::unavailable, fmt::format("Valkey {}: resolving the host took longer than {} ms", ep_.address,
                                          opt_.connect_timeout.count()));
    }
    if (st->ec)
      fail(Errc::unavailable, fmt::format("Valkey {}: cannot resolve the host: {}", ep_.address, st->ec.message()));
    for (const auto& e : st->results) eps.push_back(e.endpoint());
    co_return eps;
  }

  asio::awaitable<std::unique_ptr<Conn>> connect() {
    auto c = std::make_unique<Conn>();
    if (ssl_) c->tls.emplace(ex_, *ssl_);
    else c->plain.emplace(ex_);
    auto eps = co_await resolve();
    auto& low = c->lowest();
    low.expires_after(opt_.connect_timeout);
    auto [cec, ep] = co_await low.async_connect(eps, asio::as_tuple(use_awaitable));
    if (cec) connect_failed("cannot connect", cec);
    low.socket().set_option(tcp::no_delay(true));
    if (c->tls) {
      if (!is_ip_literal(ep_.host)) SSL_set_tlsext_host_name(c->tls->native_handle(), ep_.host.c_str());
      if (!opt_.insecure_skip_verify) c->tls->set_verify_callback(ssl::host_name_verification(ep_.host));
      auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, asio::as_tuple(use_awaitable));
      if (hec) connect_failed("TLS handshake failed", hec);
    }
    std::string hello;
    std::size_t n = 0;
    // A password file may have been rotated since the last connection.
    std::string password = opt_.password.from_file() ? opt_.password.get() : ep_.password;
    if (!password.empty()) {
      if (ep_.username.empty()) resp::encode(hello, {"AUTH", password});
      else resp::encode(hello, {"AUTH", ep_.username, password});
      ++n;
    }
    std::string db = std::to_string(ep_.db);
    if (ep_.db != 0) {
      resp::encode(hello, {"SELECT", db});
      ++n;
    }
    if (n > 0) {
      std::vector<Value> replies;
      bool sent = false;
      auto ec = co_await exchange(*c, hello, n, replies, sent);
      if (ec) connect_failed("no answer to AUTH/SELECT", ec);
      for (auto& r : replies) {
        // The server's own words (WRONGPASS, NOAUTH, ERR DB index is out of range) are clear
        // and never contain the password.
        if (r.is_error())
          fail(Errc::unavailable, fmt::format("Valkey {}: connection refused by the server: {}", ep_.address, r.str));
      }
    }
    low.expires_never();
    co_return c;
  }

  [[noreturn]] void connect_failed(std::string_view what, const error_code& ec) const {
    if (ec == beast::error::timeout)
      fail(Errc::unavailable,
           fmt::format("Valkey {}: {}: no answer within {} ms", ep_.address, what, opt_.connect_timeout.count()));
    fail(Errc::unavailable, fmt::format("Valkey {}: {}: {}", ep_.address, what, ec.message()));
  }

  // Writes `payload` and reads `n` replies. I/O failures are returned (the caller decides on a
  // retry); a reply that is not RESP or too large throws, as the connection cannot be reused.
  asio::awaitable<error_code> exchange(Conn& c, const std::string& payload, std::size_t n, std::vector<Value>& out,
                                       bool& sent) {
    error_code ec;
    std::size_t written = 0;
    if (c.tls) {
      auto r = co_await asio::async_write(*c.tls, asio::buffer(payload), asio::as_tuple(use_awaitable));
      ec = std::get<0>(r);
      written = std::get<1>(r);
    } else {
      auto r = co_await asio::async_write(*c.plain, asio::buffer(payload), asio::as_tuple(use_awaitable));
      ec = std::get<0>(r);
      written = std::get<1>(r);
    }
    sent = written > 0;
    if (ec) co_return ec;
    while (out.size() < n) {
      auto p = resp::parse(c.buf, limits_);
      if (p.status == resp::Status::complete) {
        c.buf.erase(0, p.consumed);
        out.push_back(std::move(p.value));
        continue;
      }
      if (p.status == resp::Status::too_large)
        fail(Errc::too_large,
             fmt::format("Valkey {}: a reply exceeds {} bytes (max reply bytes)", ep_.address, opt_.max_reply_bytes));
      if (p.status == resp::Status::malformed)
        fail(Errc::unavailable,
             fmt::format("Valkey {}: not a RESP2 reply ({}); is this a Valkey/Redis server?", ep_.address, p.error));
      std::size_t want = 16 * 1024;
      if (p.need > c.buf.size()) want = std::max(want, p.need - c.buf.size());
      std::size_t old = c.buf.size();
      c.buf.resize(old + want);
      std::size_t got = 0;
      if (c.tls) {
        auto r = co_await c.tls->async_read_some(asio::buffer(c.buf.data() + old, want), asio::as_tuple(use_awaitable));
        ec = std::get<0>(r);
        got = std::get<1>(r);
      } else {
        auto r =
            co_await c.plain->async_read_some(asio::buffer(c.buf.data() + old, want), asio::as_tuple(use_awaitable));
        ec = std::get<0>(r);
        got = std::get<1>(r);
      }
      c.buf.resize(old + got);
      if (ec) co_return ec;
    }
    co_return error_code{};
  }

  // One command (payload holding `n` pipelined requests) on a pooled connection.
  asio::awaitable<std::vector<Value>> run(std::string_view op, std::string payload, std::size_t n, bool idempotent) {
    co_await acquire();
    Slot slot(*this);
    for (int attempt = 0;; ++attempt) {
      auto c = take_idle();
      bool reused = c != nullptr;
      if (!c) c = co_await connect();
      c->lowest().expires_after(opt_.command_timeout);
      std::vector<Value> replies;
      bool sent = false;
      auto ec = co_await exchange(*c, payload, n, replies, sent);
      if (!ec) {
        c->lowest().expires_never();
        if (c->buf.empty()) idle_.push_back(std::move(c));
        co_return replies;
      }
      c.reset();  // its state is unknown: never reused
      if (ec == beast::error::timeout)
        fail(Errc::timeout,
             fmt::format("Valkey {}: no reply to {} within {} ms", ep_.address, op, opt_.command_timeout.count()));
      if (ec == asio::error::operation_aborted)
        fail(Errc::cancelled, fmt::format("Valkey {}: {} cancelled", ep_.address, op));
      // A pooled connection that broke under us (a server restart the idle check missed): once
      // more on a fresh one, if the server cannot have seen the command or seeing it twice is harmless.
      if (reused && attempt == 0 && connection_dropped(ec) && (idempotent || !sent)) continue;
      if (sent && !idempotent)
        fail(Errc::unavailable, fmt::format("Valkey {}: the connection broke after {} was sent ({}); not repeated, "
                                            "as it may have taken effect",
                                            ep_.address, op, ec.message()));
      fail(Errc::unavailable, fmt::format("Valkey {}: {} failed: {}", ep_.address, op, ec.message()));
    }
  }

  asio::any_io_executor ex_;
  ValkeyOptions opt_;
  ValkeyEndpoint ep_;
  resp::Limits limits_;
  std::optional<ssl::context> ssl_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::size_t busy_ = 0;                       // commands holding a pool place (connecting or in flight)
  std::deque<std::shared_ptr<Waiter>> queue_;  // callers waiting for a place, oldest first
};

}  // namespace

ValkeyEndpoint parse_valkey_url(std::string_view url) {
  ValkeyEndpoint ep;
  std::string_view hostport = url;
  if (url.find("://") != std::string_view::npos) {
    auto u = boost::urls::parse_uri(url);
    if (!u) bad_url("not a URL");
    auto scheme = u->scheme();
    if (scheme == "rediss" || scheme == "valkeys") ep.tls = true;
    else if (scheme != "redis" && scheme != "valkey") bad_url("the scheme must be redis or rediss");
    if (u->has_userinfo()) {
      ep.username = u->user();
      if (u->has_password()) ep.password = u->password();
    }
    std::string host(u->encoded_host());
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (host.empty()) bad_url("no host");
    ep.host = host;
    if (u->has_port()) {
      if (!parse_port(u->port(), ep.port)) bad_url("bad port");
    } else {
      ep.port = "6379";
    }
    std::string_view path = u->encoded_path();
    if (!path.empty() && path != "/") {
      path.remove_prefix(1);
      auto [p, ec] = std::from_chars(path.data(), path.data() + path.size(), ep.db);
      if (ec != std::errc() || p != path.data() + path.size() || ep.db < 0)
        bad_url("the path must be a database number");
    }
  } else {
    if (hostport.empty()) bad_url("empty");
    if (hostport.find_first_of("@/?#") != std::string_view::npos) bad_url("host:port form has no user, path or query");
    std::string_view port;
    if (hostport.front() == '[') {
      auto close = hostport.find(']');
      if (close == std::string_view::npos) bad_url("unclosed [");
      ep.host = hostport.substr(1, close - 1);
      auto rest = hostport.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') bad_url("junk after ]");
        port = rest.substr(1);
      }
    } else {
      auto colon = hostport.rfind(':');
      if (colon != std::string_view::npos && hostport.find(':') != colon) bad_url("an IPv6 address needs [brackets]");
      ep.host = hostport.substr(0, colon);
      if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
    }
    if (ep.host.empty()) bad_url("no host");
    if (port.empty()) ep.port = "6379";
    else if (!parse_port(port, ep.port)) bad_url("bad port");
  }
  ep.address = ep.host.find(':') != std::string::npos ? fmt::format("[{}]:{}", ep.host, ep.port)
                                                      : fmt::format("{}:{}", ep.host, ep.port);
  return ep;
}

std::unique_ptr<Store> make_valkey_store(asio::any_io_executor ex, ValkeyOptions options) {
  auto ep = parse_valkey_url(options.url);
  if (!options.username.empty()) ep.username = options.username;
  if (!options.password.empty()) ep.password = options.password.get();
  if (options.tls) ep.tls = true;
  if (options.db < 0) fail(Errc::invalid_argument, "Valkey database number must not be negative");
  if (options.db != 0) ep.db = options.db;
  if (options.pool_size < 1 || options.pool_size > 256)
    fail(Errc::invalid_argument, "Valkey pool size must be between 1 and 256");
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0)
    fail(Errc::invalid_argument, "Valkey timeouts must be positive");
  if (options.max_reply_bytes < 1024) fail(Errc::invalid_argument, "Valkey max reply bytes must be at least 1024");
  return std::make_unique<ValkeyStore>(std::move(ex), std::move(options), std::move(ep));
}

}  // namespace mk::auth
