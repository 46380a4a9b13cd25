#include "util/blocking.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <thread>

namespace mk {

// Sizes: plugins are single-flight per credential, so a few threads cover many contexts; CPU
// work gets the cores. The admission caps only stop a flood from queueing without end.
WorkPool& blocking_pool() {
  static boost::asio::thread_pool pool(4);
  static std::atomic<std::size_t> admitted{0};
  static WorkPool wp{pool, admitted, 64, 4, "blocking"};
  return wp;
}

WorkPool& compute_pool() {
  static const std::size_t n = std::max(2u, std::thread::hardware_concurrency());
  static boost::asio::thread_pool pool(n);
  static std::atomic<std::size_t> admitted{0};
  static WorkPool wp{pool, admitted, 256, n, "compute"};
  return wp;
}

namespace detail {
std::exception_ptr pool_full(const WorkPool& p) {
  return std::make_exception_ptr(
      Error(Errc::unavailable,
            fmt::format("server busy: {} jobs already waiting for the {} pool; try again", p.max_admitted, p.name)));
}
}  // namespace detail

}  // namespace mk
