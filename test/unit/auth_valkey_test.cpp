// The Valkey store beyond the Store contract: URLs and options, AUTH (password, ACL user), TLS,
// a server that dies or stalls, the pool bound, and (with a fake server) what is repeated after
// a connection breaks and what happens to garbage or oversized replies.
#include "auth/resp.hpp"
#include "auth/valkey_store.hpp"
#include "redis_server.hpp"
#include "test_pki.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <poll.h>

namespace {
namespace asio = boost::asio;
using mk::Errc;
using mk::auth::make_valkey_store;
using mk::auth::parse_valkey_url;
using mk::auth::Store;
using mk::auth::Ttl;
using mk::auth::ValkeyOptions;
using namespace std::chrono_literals;
using testutil::run;

// Runs `a` and returns the mk::Error it threw (fails the test if it threw nothing else).
template <class T>
mk::Error error_of(asio::io_context& io, asio::awaitable<T> a) {
  try {
    run(io, std::move(a));
  } catch (const mk::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return mk::Error(Errc::internal, "no error");
}

ValkeyOptions options_for(const testutil::RedisServer& s) {
  ValkeyOptions o;
  o.url = s.address();
  o.connect_timeout = 2s;
  o.command_timeout = 2s;
  return o;
}

TEST(ValkeyUrl, Forms) {
  auto a = parse_valkey_url("redis://cache.example:6380/2");
  EXPECT_EQ(a.host, "cache.example");
  EXPECT_EQ(a.port, "6380");
  EXPECT_EQ(a.db, 2);
  EXPECT_FALSE(a.tls);
  EXPECT_EQ(a.address, "cache.example:6380");
  auto b = parse_valkey_url("rediss://alice:s%40cret@10.0.0.1");
  EXPECT_TRUE(b.tls);
  EXPECT_EQ(b.port, "6379");
  EXPECT_EQ(b.username, "alice");
  EXPECT_EQ(b.password, "s@cret");
  EXPECT_EQ(b.address, "10.0.0.1:6379");
  auto c = parse_valkey_url("redis://:only-pass@[::1]:7000/");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.username, "");
  EXPECT_EQ(c.password, "only-pass");
  EXPECT_EQ(c.address, "[::1]:7000");
  auto d = parse_valkey_url("valkey-0.valkey:6379");
  EXPECT_EQ(d.host, "valkey-0.valkey");
  EXPECT_EQ(d.port, "6379");
  EXPECT_EQ(parse_valkey_url("localhost").port, "6379");
  EXPECT_EQ(parse_valkey_url("[::1]:1").host, "::1");
}

TEST(ValkeyUrl, BadFormsAreRefusedWithoutEchoingThePassword) {
  for (std::string u : {"", "http://h:1", "redis://:hunter2@h:99999", "redis://:hunter2@h/x", "h:0", "h:abc",
                        "::1:6379", "[::1", "user:hunter2@h:1", "redis://:hunter2@:1"}) {
    try {
      parse_valkey_url(u);
      ADD_FAILURE() << "accepted " << u;
    } catch (const mk::Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument) << u;
      EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
  }
}

TEST(ValkeyOptions, AreValidated) {
  asio::io_context io;
  ValkeyOptions o;
  o.pool_size = 0;
  EXPECT_THROW(make_valkey_store(io.get_executor(), o), mk::Error);
  o = ValkeyOptions{};
  o.command_timeout = 0ms;
  EXPECT_THROW(make_valkey_store(io.get_executor(), o), mk::Error);
  o = ValkeyOptions{};
  o.db = -1;
  EXPECT_THROW(make_valkey_store(io.get_executor(), o), mk::Error);
  o = ValkeyOptions{};
  o.tls = true;
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(make_valkey_store(io.get_executor(), o), mk::Error);
}

TEST(ValkeyStore, PasswordAuth) {
  testutil::RedisServer server({"--requirepass", "right-secret"});
  asio::io_context io;
  auto o = options_for(server);
  o.password = "right-secret";
  auto good = make_valkey_store(io.get_executor(), o);
  run(io, good->put("k", "v", Ttl(0)));
  EXPECT_EQ(run(io, good->get("k")), "v");

  o.password = "wrong-secret";
  auto bad = make_valkey_store(io.get_executor(), o);
  auto e = error_of(io, bad->get("k"));
  EXPECT_EQ(e.code(), Errc::unavailable);
  std::string msg = e.what();
  EXPECT_NE(msg.find(server.address()), std::string::npos) << msg;
  EXPECT_NE(msg.find("WRONGPASS"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("wrong-secret"), std::string::npos) << msg;
  std::string why = run(io, bad->check());
  EXPECT_NE(why.find("WRONGPASS"), std::string::npos) << why;

  // The password in the URL works too.
  ValkeyOptions u = options_for(server);
  u.url = "redis://:right-secret@" + server.address();
  EXPECT_EQ(run(io, make_valkey_store(io.get_executor(), u)->get("k")), "v");

  auto none = make_valkey_store(io.get_executor(), options_for(server));
  auto e2 = error_of(io, none->get("k"));
  EXPECT_EQ(e2.code(), Errc::unavailable);
  EXPECT_NE(std::string(e2.what()).find("NOAUTH"), std::string::npos) << e2.what();
}

TEST(ValkeyStore, AclUser) {
  testutil::RedisServer server({"--user", "mcp", "on", ">acl-secret", "~mcp:*", "+@all", "--user", "default", "off"});
  asio::io_context io;
  auto o = options_for(server);
  o.username = "mcp";
  o.password = "acl-secret";
  auto s = make_valkey_store(io.get_executor(), o);
  run(io, s->put("k", "v", Ttl(0)));
  EXPECT_EQ(run(io, s->get("k")), "v");
  // The ACL limits this user to mcp:* keys; another prefix is refused by the server, clearly.
  o.key_prefix = "other:";
  auto e = error_of(io, make_valkey_store(io.get_executor(), o)->get("k"));
  EXPECT_EQ(e.code(), Errc::unavailable);
  EXPECT_NE(std::string(e.what()).find("NOPERM"), std::string::npos) << e.what();
}

TEST(ValkeyStore, BadDatabaseIndexIsAClearError) {
  testutil::RedisServer server;
  asio::io_context io;
  auto o = options_for(server);
  o.db = 999;
  auto e = error_of(io, make_valkey_store(io.get_executor(), o)->get("k"));
  EXPECT_EQ(e.code(), Errc::unavailable);
  EXPECT_NE(std::string(e.what()).find("DB index is out of range"), std::string::npos) << e.what();
}

TEST(ValkeyStore, ServerKilledThenRestarted) {
  testutil::RedisServer server;
  asio::io_context io;
  auto s = make_valkey_store(io.get_executor(), options_for(server));
  run(io, s->put("k", "v", Ttl(0)));
  server.stop();
  // Every operation, idempotent or not, reports the server as unavailable, naming it.
  auto e1 = error_of(io, s->get("k"));
  EXPECT_EQ(e1.code(), Errc::unavailable);
  EXPECT_NE(std::string(e1.what()).find(server.address()), std::string::npos) << e1.what();
  EXPECT_EQ(error_of(io, s->take("k")).code(), Errc::unavailable);
  EXPECT_EQ(error_of(io, s->incr("n", Ttl(1000))).code(), Errc::unavailable);
  EXPECT_NE(run(io, s->check()), "");
  server.start();
  EXPECT_EQ(run(io, s->check()), "");
  EXPECT_EQ(run(io, s->get("k")), std::nullopt);  // no persistence: a fresh server
  run(io, s->put("k", "v2", Ttl(0)));
  EXPECT_EQ(run(io, s->take("k")), "v2");
}

// A restart while the store holds idle connections: the stale ones are noticed before use,
// so even non-idempotent commands go through on a fresh connection.
TEST(ValkeyStore, StaleIdleConnectionsAreReplacedAfterARestart) {
  testutil::RedisServer server;
  asio::io_context io;
  auto s = make_valkey_store(io.get_executor(), options_for(server));
  EXPECT_EQ(run(io, s->check()), "");
  server.stop();
  server.start();
  run(io, s->put("k", "v", Ttl(0)));
  EXPECT_EQ(run(io, s->take("k")), "v");
  EXPECT_EQ(run(io, s->incr("n", Ttl(0))), 1);
}

TEST(ValkeyStore, StalledServerTimesOutThenRecovers) {
  testutil::RedisServer server;
  asio::io_context io;
  auto o = options_for(server);
  o.command_timeout = 300ms;
  o.connect_timeout = 300ms;
  auto s = make_valkey_store(io.get_executor(), o);
  run(io, s->put("k", "v", Ttl(0)));
  server.pause();
  auto e = error_of(io, s->get("k"));
  EXPECT_EQ(e.code(), Errc::timeout);
  EXPECT_NE(std::string(e.what()).find(server.address()), std::string::npos) << e.what();
  // A fresh connection is accepted by the kernel but never answered: still bounded. (A get:
  // the stalled server runs what it received once resumed, and a take would delete the key.)
  auto e2 = error_of(io, s->get("k"));
  EXPECT_EQ(e2.code(), Errc::timeout) << e2.what();
  server.resume();
  EXPECT_EQ(run(io, s->get("k")), "v");
}

// Callers beyond the pool wait for a place, bounded in time and number.
TEST(ValkeyStore, PoolIsBoundedAndWaitersAreCapped) {
  testutil::RedisServer server;
  asio::io_context io;
  auto o = options_for(server);
  o.pool_size = 2;
  auto s = make_valkey_store(io.get_executor(), o);
  run(io, s->put("k", "v", Ttl(0)));
  int ok = 0, failed = 0;
  for (int i = 0; i < 64; ++i) {
    auto one = [](Store& s, int& ok) -> asio::awaitable<void> {
      auto v = co_await s.get("k");
      if (v == "v") ++ok;
    };
    asio::co_spawn(io, one(*s, ok), [&failed](std::exception_ptr e) { failed += e ? 1 : 0; });
  }
  io.restart();
  io.run();
  EXPECT_EQ(ok, 64);
  EXPECT_EQ(failed, 0);
  // The server saw at most the pool's connections (plus this probe).
  auto info = server.probe({"INFO", "clients"});
  auto pos = info.str.find("connected_clients:");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_LE(std::atoi(info.str.c_str() + pos + 18), 3) << info.str;

  // With the server stalled: one caller holds the single place, two wait, the fourth is refused at once.
  o.pool_size = 1;
  o.max_waiters = 2;
  o.command_timeout = 300ms;
  auto t = make_valkey_store(io.get_executor(), o);
  run(io, t->put("k", "v", Ttl(0)));
  server.pause();
  std::vector<Errc> codes;
  for (int i = 0; i < 4; ++i) {
    auto one = [](Store& s) -> asio::awaitable<void> { co_await s.get("k"); };
    asio::co_spawn(io, one(*t), [&codes](std::exception_ptr e) {
      try {
        if (e) std::rethrow_exception(e);
        codes.push_back(Errc::internal);
      } catch (const mk::Error& err) {
        codes.push_back(err.code());
      }
    });
  }
  io.restart();
  io.run();
  server.resume();
  EXPECT_EQ(std::count(codes.begin(), codes.end(), Errc::timeout), 3);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), Errc::unavailable), 1);
}

// A fake RESP server on a blocking socket in a thread. For each command it asks `reply`
// (connection number from 0, the command's words) for the bytes to send; nullopt closes the
// connection without an answer.
class FakeServer {
 public:
  using Reply = std::function<std::optional<std::string>(int conn, const std::vector<std::string>& cmd)>;
  explicit FakeServer(Reply r) : reply_(std::move(r)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> seen() {
    std::lock_guard l(mu_);
    return seen_;
  }
  int connections() {
    std::lock_guard l(mu_);
    return conns_;
  }

 private:
  bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 50) > 0;
  }
  void loop() {
    while (!stop_) {
      if (!readable(fd_)) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      int n;
      {
        std::lock_guard l(mu_);
        n = conns_++;
      }
      serve(c, n);
      ::close(c);
    }
  }
  void serve(int c, int n) {
    std::string in;
    while (!stop_) {
      auto p = mk::auth::resp::parse(in, mk::auth::resp::Limits{});
      if (p.status == mk::auth::resp::Status::complete) {
        in.erase(0, p.consumed);
        std::vector<std::string> cmd;
        for (auto& e : p.value.elements) cmd.push_back(e.str);
        {
          std::lock_guard l(mu_);
          seen_.push_back(cmd.empty() ? "" : cmd[0]);
        }
        auto r = reply_(n, cmd);
        if (!r) return;
        (void)::send(c, r->data(), r->size(), MSG_NOSIGNAL);
        continue;
      }
      if (p.status != mk::auth::resp::Status::incomplete) return;
      if (!readable(c)) continue;
      char buf[4096];
      auto got = ::recv(c, buf, sizeof buf, 0);
      if (got <= 0) return;
      in.append(buf, static_cast<std::size_t>(got));
    }
  }

  Reply reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> seen_;
  int conns_ = 0;
  std::thread thread_;
};

// Connection 0 answers its first command, then drops the next without answering: the command
// was sent on a pooled connection and may have been executed.
std::optional<std::string> drop_second_command(int conn, const std::vector<std::string>& cmd) {
  static thread_local std::map<int, int> count;
  int i = count[conn]++;
  if (conn == 0 && i == 1) return std::nullopt;
  if (cmd[0] == "PING") return "+PONG\r\n";
  if (cmd[0] == "GET" || cmd[0] == "GETDEL") return "$1\r\nv\r\n";
  return "+OK\r\n";
}

TEST(ValkeyStore, BrokenConnectionRepeatsOnlyIdempotentCommands) {
  asio::io_context io;
  {
    FakeServer fake([](int conn, const std::vector<std::string>& cmd) { return drop_second_command(conn, cmd); });
    ValkeyOptions o;
    o.url = fake.address();
    auto s = make_valkey_store(io.get_executor(), o);
    EXPECT_EQ(run(io, s->check()), "");
    EXPECT_EQ(run(io, s->get("k")), "v");  // repeated once on a fresh connection
    EXPECT_EQ(fake.seen(), (std::vector<std::string>{"PING", "GET", "GET"}));
    EXPECT_EQ(fake.connections(), 2);
  }
  for (std::string op : {"take", "incr", "put_if_absent", "erase"}) {
    FakeServer fake([](int conn, const std::vector<std::string>& cmd) -> std::optional<std::string> {
      static thread_local std::map<int, int> count;
      if (conn == 0 && count[conn]++ == 1) return std::nullopt;
      return "+PONG\r\n";
    });
    ValkeyOptions o;
    o.url = fake.address();
    auto s = make_valkey_store(io.get_executor(), o);
    EXPECT_EQ(run(io, s->check()), "");
    mk::Error e(Errc::internal, "");
    if (op == "take") e = error_of(io, s->take("k"));
    else if (op == "incr") e = error_of(io, s->incr("k", Ttl(1000)));
    else if (op == "put_if_absent") e = error_of(io, s->put_if_absent("k", "v", Ttl(1000)));
    else e = error_of(io, s->erase("k"));
    EXPECT_EQ(e.code(), Errc::unavailable) << op;
    EXPECT_NE(std::string(e.what()).find("may have taken effect"), std::string::npos) << e.what();
    EXPECT_EQ(fake.seen().size(), 2u) << op << ": the command was sent once";
    EXPECT_EQ(fake.connections(), 1) << op;
  }
}

TEST(ValkeyStore, GarbageAndOversizedRepliesDropTheConnection) {
  asio::io_context io;
  FakeServer fake([](int, const std::vector<std::string>& cmd) -> std::optional<std::string> {
    if (cmd[1] == "mcp:garbage") return std::string("HTTP/1.1 400 Bad Request\r\n\r\n");
    if (cmd[1] == "mcp:huge") return "$" + std::to_string(64 << 20) + "\r\n";
    if (cmd[1] == "mcp:int") return std::string(":5\r\n");
    return std::string("$2\r\nok\r\n");
  });
  ValkeyOptions o;
  o.url = fake.address();
  o.max_reply_bytes = 1 << 20;
  auto s = make_valkey_store(io.get_executor(), o);
  auto e = error_of(io, s->get("garbage"));
  EXPECT_EQ(e.code(), Errc::unavailable);
  EXPECT_NE(std::string(e.what()).find("not a RESP2 reply"), std::string::npos) << e.what();
  auto big = error_of(io, s->get("huge"));
  EXPECT_EQ(big.code(), Errc::too_large) << big.what();
  auto wrong = error_of(io, s->get("int"));
  EXPECT_EQ(wrong.code(), Errc::unavailable);
  EXPECT_NE(std::string(wrong.what()).find("unexpected reply"), std::string::npos) << wrong.what();
  EXPECT_EQ(run(io, s->get("fine")), "ok");
  // Garbage and oversize each cost their connection; the wrong-type reply was well-formed, so
  // its connection served the last command.
  EXPECT_EQ(fake.connections(), 3);
}

// TLS with certificates made here by the openssl tool: verified against the CA file (host
// name = the IP SAN), refused against the system CAs, accepted with verification off.
TEST(ValkeyStore, Tls) {
  testutil::TempDir pki;
  std::string d = pki.str();
  ASSERT_TRUE(testutil::make_test_pki(pki, "valkey")) << "openssl failed";
  testutil::RedisServer server({"--tls-cert-file", d + "/server.crt", "--tls-key-file", d + "/server.key",
                                "--tls-ca-cert-file", d + "/ca.crt", "--tls-auth-clients", "no"},
                               /*tls=*/true);
  asio::io_context io;
  ValkeyOptions o;
  o.url = "rediss://" + server.address();
  o.ca_file = d + "/ca.crt";
  auto s = make_valkey_store(io.get_executor(), o);
  run(io, s->put("k", "over-tls", Ttl(0)));
  EXPECT_EQ(run(io, s->get("k")), "over-tls");

  ValkeyOptions sys = o;
  sys.ca_file.clear();
  auto e = error_of(io, make_valkey_store(io.get_executor(), sys)->get("k"));
  EXPECT_EQ(e.code(), Errc::unavailable);
  EXPECT_NE(std::string(e.what()).find("TLS handshake failed"), std::string::npos) << e.what();

  ValkeyOptions insecure = sys;
  insecure.insecure_skip_verify = true;
  EXPECT_EQ(run(io, make_valkey_store(io.get_executor(), insecure)->get("k")), "over-tls");

  // Plain RESP to a TLS port gets no usable answer: an error, not a hang.
  ValkeyOptions plain;
  plain.url = server.address();
  plain.command_timeout = 1s;
  plain.connect_timeout = 1s;
  auto pe = error_of(io, make_valkey_store(io.get_executor(), plain)->get("k"));
  EXPECT_TRUE(pe.code() == Errc::unavailable || pe.code() == Errc::timeout) << pe.what();
}

}  // namespace
