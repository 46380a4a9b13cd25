#pragma once
// The Store on a Valkey/Redis server (RESP2; Redis >= 6.2 for GETDEL, so Valkey any version),
// shared by replicas. Each operation is one atomic server step:
//   get GET · put SET [PX] · put_if_absent SET NX [PX] · take GETDEL · erase DEL
//   incr EVAL (INCR, and PEXPIRE only while the key has no expiry: the window starts at the
//        first increment and is never extended) · check PING
// Keys get `key_prefix`. Connections: a small pool (pool_size), each carrying one command at a
// time, opened lazily with AUTH and SELECT; callers beyond the pool wait (bounded in time and
// number). Every step has a timeout. A connection that broke is dropped; a command on it is sent
// again on a fresh one only when doing it twice is harmless (get, put, check); take, incr,
// put_if_absent and erase fail with Errc::unavailable instead, as they may have taken effect.
// Error messages name the server address, never the password. Use the store from the thread
// that runs its executor (the io thread): its pool state has no lock.
#include "auth/store.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include "auth/secret.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace mk::auth {

struct ValkeyOptions {
  // redis://[user[:password]@]host[:port][/db], rediss://... (TLS), or host[:port]; port 6379.
  std::string url = "127.0.0.1:6379";
  std::string username;  // ACL user; empty: the URL's, else the server's default user
  Secret password;       // empty: the URL's, else no AUTH; a file is read again for each new connection
  bool tls = false;      // also implied by rediss://
  std::string ca_file;   // PEM CA bundle for TLS; empty: the system's
  bool insecure_skip_verify = false;
  std::string key_prefix = "mcp:";
  int db = 0;                                       // 0: the URL's /db, else 0
  std::chrono::milliseconds connect_timeout{5000};  // resolve + TCP + TLS + AUTH + SELECT
  std::chrono::milliseconds command_timeout{3000};  // one command; also the longest wait for a pool place
  // Few connections are enough: each command is a sub-millisecond server step, and a bound keeps
  // a burst of callers from opening hundreds of sockets on a server shared by replicas.
  std::size_t pool_size = 4;
  // Callers waiting for a pooled connection beyond this get Errc::unavailable at once.
  std::size_t max_waiters = 4096;
  // Our values are small (tokens, client records); a larger reply means a wrong server or key.
  std::size_t max_reply_bytes = 4u << 20;
};

// Where a URL points; the password is kept out of `address`, which is what messages show.
struct ValkeyEndpoint {
  std::string host;  // without IPv6 brackets
  std::string port;
  std::string address;  // host:port ([v6]:port) for messages
  std::string username;
  std::string password;
  bool tls = false;
  int db = 0;
};
// Throws Errc::invalid_argument (without echoing the URL, which may hold a password).
ValkeyEndpoint parse_valkey_url(std::string_view url);

// Validates the options (Errc::invalid_argument) and returns a store that connects lazily: a
// server that is down shows up in check() and as Errc::unavailable from operations.
std::unique_ptr<Store> make_valkey_store(boost::asio::any_io_executor ex, ValkeyOptions options);

}  // namespace mk::auth
