#pragma once
// Runs blocking work (exec credential plugins, file reads of unknown size) on a small thread
// pool and resumes the calling coroutine on its own executor.
//
// Pass a named lambda (`auto job = [..]{..}; co_await run_blocking(std::move(job));`): g++ 12
// destroys a lambda temporary written inside a co_await expression twice (GCC PR 100611).
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
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
    boost::asio::post(blocking_pool(), [handler = std::move(handler), fn = std::move(fn)]() mutable {
      std::exception_ptr ep;
      R result{};
      try {
        result = fn();
      } catch (...) {
        ep = std::current_exception();
      }
      auto ex = boost::asio::get_associated_executor(handler);
      boost::asio::post(ex, [handler = std::move(handler), ep, result = std::move(result)]() mutable {
        std::move(handler)(ep, std::move(result));
      });
    });
  };
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr, R)>(
      std::move(init), boost::asio::use_awaitable, std::move(f));
}

}  // namespace mk
