#pragma once
// A real redis-server for tests: started on a free loopback port in a scratch directory, no
// persistence, killed with the test (also if the test process dies: PDEATHSIG). A missing
// redis-server is an error, not a skip: scripts/install-deps.sh installs it.
// Also: run() drives a coroutine to completion on an io_context, and probe() sends one raw
// command over a blocking socket (plain TCP only), for looking at the server's side.
#include "auth/resp.hpp"
#include "temp_dir.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace testutil {

// Runs `a` on `io` until it finishes; rethrows what it threw.
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
  std::exception_ptr err;
  std::optional<T> out;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    err = e;
    if (!e) out = std::move(v);
  });
  io.restart();
  io.run();
  if (err) std::rethrow_exception(err);
  return std::move(*out);
}
inline void run(boost::asio::io_context& io, boost::asio::awaitable<void> a) {
  std::exception_ptr err;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e) { err = e; });
  io.restart();
  io.run();
  if (err) std::rethrow_exception(err);
}

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};  // a probe never waits longer
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline std::string find_redis_server() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= p.size();) {
    auto end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    auto cand = std::filesystem::path(p.substr(start, end - start)) / "redis-server";
    if (::access(cand.c_str(), X_OK) == 0) return cand.string();
    start = end + 1;
  }
  throw std::runtime_error("redis-server is not installed: run scripts/install-deps.sh");
}

class RedisServer {
 public:
  // `args` are added to redis-server's command line (e.g. {"--requirepass", "pw"}).
  // With tls, the server listens with TLS only, on port().
  explicit RedisServer(std::vector<std::string> args = {}, bool tls = false)
      : bin_(find_redis_server()), args_(std::move(args)), tls_(tls), port_(free_port()) {
    start();
  }
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const TempDir& dir() const { return dir_; }

  void start() {
    std::vector<std::string> argv{bin_,
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  dir_.str(),
                                  "--logfile",
                                  (dir_.path() / "redis.log").string()};
    if (tls_) {
      argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_)});
    } else {
      argv.push_back("--port");
      argv.push_back(std::to_string(port_));
    }
    for (auto& a : args_) argv.push_back(a);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    // Ready when it accepts connections; bounded (a cold start takes milliseconds).
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited at start; see its log in " + dir_.str());
      }
      int fd = connect_loopback(port_);
      if (fd >= 0) {
        ::close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("redis-server did not accept connections within 10 s");
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

  // One command on a fresh plain connection; AUTH first when `password` is set.
  mk::auth::resp::Value probe(std::vector<std::string_view> cmd, const std::string& password = "") const {
    int fd = connect_loopback(port_);
    if (fd < 0) throw std::runtime_error("probe: cannot connect");
    std::string out;
    std::size_t n = 1;
    if (!password.empty()) {
      mk::auth::resp::encode(out, {"AUTH", password});
      ++n;
    }
    mk::auth::resp::encode(out, std::span<const std::string_view>(cmd));
    (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    std::string in;
    mk::auth::resp::Value last;
    for (std::size_t got = 0; got < n;) {
      auto p = mk::auth::resp::parse(in, mk::auth::resp::Limits{});
      if (p.status == mk::auth::resp::Status::complete) {
        in.erase(0, p.consumed);
        last = std::move(p.value);
        ++got;
        continue;
      }
      char buf[4096];
      auto r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        ::close(fd);
        throw std::runtime_error("probe: no reply");
      }
      in.append(buf, static_cast<std::size_t>(r));
    }
    ::close(fd);
    return last;
  }

 private:
  TempDir dir_;
  std::string bin_;
  std::vector<std::string> args_;
  bool tls_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace testutil
