#include "util/blocking.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <stdexcept>
#include <string>
#include <thread>

// Regression: owning captures must survive exactly once (g++ 12 destroyed them twice when
// this was a co_spawn of a coroutine lambda), results and exceptions must come back, and the
// coroutine must resume on its own thread.
TEST(RunBlocking, ReturnsResultAndResumesOnCaller) {
  boost::asio::io_context io;
  std::string captured(1000, 'x');
  std::string got;
  std::thread::id worker, resumed;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        // A named lambda: g++ 12 destroys lambda temporaries of a co_await expression twice.
        auto job = [captured, &worker] {
          worker = std::this_thread::get_id();
          return captured + "!";
        };
        got = co_await mk::run_blocking(std::move(job));
        resumed = std::this_thread::get_id();
      },
      boost::asio::detached);
  io.run();
  EXPECT_EQ(got, std::string(1000, 'x') + "!");
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_EQ(resumed, std::this_thread::get_id());
}

TEST(RunBlocking, PropagatesExceptions) {
  boost::asio::io_context io;
  std::string what;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        try {
          auto job = [s = std::string("boom")]() -> int { throw std::runtime_error(s); };
          co_await mk::run_blocking(std::move(job));
        } catch (const std::runtime_error& e) {
          what = e.what();
        }
      },
      boost::asio::detached);
  io.run();
  EXPECT_EQ(what, "boom");
}

// The pools admit a bounded number of jobs: past it a clear Errc::unavailable, not an
// unbounded queue; admission frees up as jobs finish.
TEST(RunBlocking, AdmissionIsBounded) {
  auto& wp = mk::blocking_pool();
  boost::asio::io_context io;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::size_t finished = 0;
  std::string refused;
  auto one = [&](bool expect_refusal) -> boost::asio::awaitable<void> {
    auto job = [released] {
      released.wait();
      return 1;
    };
    try {
      co_await mk::run_blocking(std::move(job));
      ++finished;
    } catch (const mk::Error& e) {
      EXPECT_TRUE(expect_refusal) << e.what();
      EXPECT_EQ(e.code(), mk::Errc::unavailable);
      refused = e.what();
    }
  };
  for (std::size_t i = 0; i < wp.max_admitted; ++i) boost::asio::co_spawn(io, one(false), boost::asio::detached);
  while (wp.admitted.load() < wp.max_admitted) io.poll_one();
  boost::asio::co_spawn(io, one(true), boost::asio::detached);
  while (refused.empty()) io.run_one();
  EXPECT_NE(refused.find("server busy"), std::string::npos) << refused;
  release.set_value();
  while (finished < wp.max_admitted) io.run_one();
  EXPECT_EQ(wp.admitted.load(), 0u);
}

// The io_context may be destroyed as soon as run() returns: the worker must be done with it
// by then. It used to still be inside post() (signalling the scheduler) while the io thread
// ran the result, finished and destroyed the io_context (TSan: data race on its condvar).
TEST(RunBlocking, IoContextMayEndRightAfterTheResult) {
  for (int i = 0; i < 50; ++i) {
    int got = 0;
    {
      boost::asio::io_context io;
      boost::asio::co_spawn(
          io,
          [&]() -> boost::asio::awaitable<void> {
            auto job = [i] { return i; };
            got = co_await mk::run_blocking(std::move(job));
          },
          boost::asio::detached);
      io.run();
    }
    EXPECT_EQ(got, i);
  }
}
