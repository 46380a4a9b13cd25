#pragma once
// Work that must not run on the I/O thread, on two small thread pools; the calling coroutine
// resumes on its own executor.
//  - run_blocking: waits on the outside world (exec credential plugins, file reads). Own
//    threads, so a slow plugin cannot delay the CPU work below.
//  - offload: CPU work (parsing / serialising big JSON, regex scans) so that other sessions
//    keep getting answers meanwhile.
// Both pools admit a bounded number of jobs (queued + running); past it the call fails with
// Errc::unavailable instead of queueing without limit.
//
// Pass a named lambda (`auto job = [..]{..}; co_await run_blocking(std::move(job));`): g++ 12
// destroys a lambda temporary written inside a co_await expression twice (GCC PR 100611).
#include "util/error.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <utility>

namespace mk {

struct WorkPool {
  boost::asio::thread_pool& pool;
  std::atomic<std::size_t>& admitted;  // queued + running
  std::size_t max_admitted;
  std::size_t threads;
  const char* name;
};

WorkPool& blocking_pool();
WorkPool& compute_pool();

namespace detail {
std::exception_ptr pool_full(const WorkPool& p);

template <class F>
auto submit(WorkPool& wp, F f) {
  using R = decltype(f());
  // Admission happens at initiation (when awaited), so an awaitable dropped unawaited holds no slot.
  auto init = [](auto handler, WorkPool* wp, F fn) {
    if (wp->admitted.fetch_add(1) >= wp->max_admitted) {
      wp->admitted.fetch_sub(1);
      auto ex = boost::asio::get_associated_executor(handler);
      boost::asio::post(ex,
                        [handler = std::move(handler), ep = pool_full(*wp)]() mutable { std::move(handler)(ep, R{}); });
      return;
    }
    // Counts as work of the caller's io_context until the result is posted back: without it
    // the io thread could finish the coroutine, return from run() and destroy the io_context
    // while this thread is still inside post() (TSan: race on the scheduler's condvar).
    auto work = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                    boost::asio::execution::outstanding_work.tracked);
    boost::asio::post(wp->pool, [handler = std::move(handler), wp, fn = std::move(fn),
                                 work = std::move(work)]() mutable {
      std::exception_ptr ep;
      R result{};
      try {
        result = fn();
      } catch (...) {
        ep = std::current_exception();
      }
      wp->admitted.fetch_sub(1);
      // The exception moves to the caller's thread: it must be the last owner, because the
      // refcounts inside libstdc++ (exception_ptr, runtime_error's COW message) are invisible
      // to TSan, and a copy released here raced with the caller reading what().
      boost::asio::post(work, [handler = std::move(handler), ep = std::move(ep), result = std::move(result)]() mutable {
        std::move(handler)(ep, std::move(result));
      });
      auto done = std::move(work);  // released here, after post() has returned
    });
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr, R)>(
      std::move(init), boost::asio::use_awaitable, &wp, std::move(f));
}
}  // namespace detail

template <class F>
auto run_blocking(F f) {
  return detail::submit(blocking_pool(), std::move(f));
}

template <class F>
auto offload(F f) {
  return detail::submit(compute_pool(), std::move(f));
}

}  // namespace mk
