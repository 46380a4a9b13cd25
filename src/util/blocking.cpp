#include "util/blocking.hpp"

namespace mk {

boost::asio::thread_pool& blocking_pool() {
  static boost::asio::thread_pool pool(2);
  return pool;
}

}  // namespace mk
