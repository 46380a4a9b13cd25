#include "transport/stdio.hpp"

#include "mcp/jsonrpc.hpp"
#include "util/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <cerrno>
#include <system_error>
#include <thread>

namespace mk::transport {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // the client went away; nothing useful left to do with this message
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}
}  // namespace

void serve_stdio(asio::io_context& io, mcp::Server& server, StdioOptions opts,
                 std::function<void(const std::shared_ptr<mcp::Session>&)> on_session_end) {
  auto session = server.make_session([](json::object msg) {
    std::string line = json::serialize(msg);
    line.push_back('\n');
    write_all(STDOUT_FILENO, line);
  });

  // stdin is read on its own thread so any kind of fd (pipe, file, tty) works; complete
  // lines are posted to the io thread, which owns all protocol state. The reader also watches
  // `stop` so it can be joined when the io thread is stopped (a signal) before stdin ends: a
  // reader left behind would post into the io_context after it was destroyed.
  int stop[2];
  if (::pipe2(stop, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  auto work = asio::make_work_guard(io);
  std::thread reader([&io, &server, session, opts, &work, on_session_end, stop_fd = stop[0]] {
    std::string line;
    bool overflow = false;
    char buf[64 * 1024];
    for (;;) {
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents != 0) return;  // serve_stdio is returning: post nothing more
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::string_view chunk(buf, static_cast<std::size_t>(n));
      while (!chunk.empty()) {
        auto nl = chunk.find('\n');
        auto part = chunk.substr(0, nl);
        if (!overflow) {
          if (line.size() + part.size() > opts.max_line_bytes) {
            overflow = true;
            line.clear();
            line.shrink_to_fit();
          } else {
            line.append(part);
          }
        }
        if (nl == std::string_view::npos) break;
        chunk.remove_prefix(nl + 1);
        if (overflow) {
          asio::post(io, [session, max = opts.max_line_bytes] {
            session->send(mcp::jsonrpc::error(nullptr, mcp::jsonrpc::parse_error,
                                              "Parse error: message exceeds " + std::to_string(max) + " bytes"));
          });
          overflow = false;
        } else if (line.find_first_not_of(" \t\r") != std::string::npos) {
          asio::post(io, [&server, session, l = std::move(line)] { server.handle_raw(session, l); });
        }
        line.clear();
      }
    }
    // EOF: let in-flight calls finish (bounded), then release the io_context.
    asio::post(io, [&io, session, opts, &work, on_session_end] {
      auto timer = std::make_shared<asio::steady_timer>(io);
      auto deadline = std::chrono::steady_clock::now() + opts.drain_grace;
      auto poll = std::make_shared<std::function<void()>>();
      *poll = [&io, timer, session, deadline, &work, on_session_end, poll] {
        if (session->inflight.empty() || std::chrono::steady_clock::now() >= deadline) {
          session->cancel_all();
          if (on_session_end) on_session_end(session);
          work.reset();
          // Other waits (signal handlers, idle keep-alive sockets) must not keep a finished
          // stdio session alive.
          io.stop();
          *poll = nullptr;  // break the self-reference
          return;
        }
        timer->expires_after(std::chrono::milliseconds(20));
        timer->async_wait([poll](boost::system::error_code) {
          if (*poll) (*poll)();
        });
      };
      (*poll)();
    });
  });
  io.run();
  char wake = 0;
  while (::write(stop[1], &wake, 1) < 0 && errno == EINTR) {
  }
  reader.join();
  ::close(stop[0]);
  ::close(stop[1]);
}

}  // namespace mk::transport
