#pragma once
// Runs blocking work (exec credential plugins, file reads of unknown size) on a small thread
// pool and resumes the calling coroutine on its own executor.
//
// Pass a named lambda (`auto job = [..]{..}; co_await run_blocking(std::move(job));`): g++ 12
// destroys a lambda temporary written inside a co_await expression twice (GCC PR 100611).
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <utility>

namespace mk {

boost::asio::thread_pool& blocking_pool();

template <class F>
auto run_blocking(F f) {
  using R = decltype(f());
  auto init = [](auto handler, F fn) {
    // Counts as work of the caller's io_context until the result is posted back: without it
    // the io thread could finish the coroutine, return from run() and destroy the io_context
    // while this thread is still inside post() (TSan: race on the scheduler's condvar).
    auto work = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                    boost::asio::execution::outstanding_work.tracked);
    boost::asio::post(
        blocking_pool(), [handler = std::move(handler), fn = std::move(fn), work = std::move(work)]() mutable {
          std::exception_ptr ep;
          R result{};
          try {
            result = fn();
          } catch (...) {
            ep = std::current_exception();
          }
          boost::asio::post(work, [handler = std::move(handler), ep, result = std::move(result)]() mutable {
            std::move(handler)(ep, std::move(result));
          });
          auto done = std::move(work);  // released here, after post() has returned
        });
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr, R)>(
      std::move(init), boost::asio::use_awaitable, std::move(f));
}

}  // namespace mk
