// serve_stdio stopped (as by SIGTERM) while stdin is still open: the stdin reader thread must
// be gone when it returns. It used to be detached, still blocked in read(), and posted into
// the io_context after main had destroyed it once stdin ended (ASan: heap-use-after-free).
#include "transport/stdio.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <unistd.h>
#include <filesystem>
#include <thread>

namespace {
std::size_t threads() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}
}  // namespace

TEST(Stdio, StoppedBeforeStdinEndsLeavesNoReaderBehind) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(::dup2(p[0], STDIN_FILENO), 0);  // stdin open, no data, no EOF
  // TSan starts a background thread of its own at the first pthread_create: do that first,
  // so it is counted in `before` too.
  std::thread([] {}).join();
  const auto before = threads();
  {
    boost::asio::io_context io;
    mcp::Server server(io.get_executor(), {"stdio-test", "0"});
    boost::asio::post(io, [&io] { io.stop(); });  // what the SIGTERM handler does
    mk::transport::serve_stdio(io, server, {});
  }
  const auto after = threads();
  EXPECT_EQ(after, before);
  if (after != before) return;  // keep the pipe open: a stray reader would wake into freed memory
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  ::close(p[0]);
  ::close(p[1]);
}
