#pragma once
// Runs blocking work (exec credential plugins, file reads of unknown size) off the io thread
// and resumes the calling coroutine on its own executor.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace mk {

boost::asio::thread_pool& blocking_pool();

template <class F>
auto run_blocking(F f) -> boost::asio::awaitable<decltype(f())> {
  using R = decltype(f());
  co_return co_await boost::asio::co_spawn(
      blocking_pool(), [f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(); },
      boost::asio::use_awaitable);
}

}  // namespace mk
