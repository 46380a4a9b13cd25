#pragma once
// Runs one coroutine to completion on its own io_context (auth unit tests).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>

namespace auth_test {

template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr ep;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    ep = e;
    if (!e) out = std::move(v);
  });
  io.restart();
  io.run();
  if (ep) std::rethrow_exception(ep);
  return std::move(*out);
}

inline void run(boost::asio::io_context& io, boost::asio::awaitable<void> a) {
  std::exception_ptr ep;
  boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e) { ep = e; });
  io.restart();
  io.run();
  if (ep) std::rethrow_exception(ep);
}

}  // namespace auth_test
