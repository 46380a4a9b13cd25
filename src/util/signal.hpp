#pragma once
// Wake-ups between coroutines of one io thread. A Signal is a condition variable: waiters
// re-check their condition after every wake-up; with a single thread nothing can run between
// the check and the wait, so no notification is lost. A Deadline notifies once when its time
// passes, which turns any Signal wait into a bounded one.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <utility>

namespace mk {

class Signal {
 public:
  explicit Signal(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  // Returns at the next notify() (or when the timer is destroyed).
  boost::asio::awaitable<void> wait() { co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)); }
  // Wakes every waiter.
  void notify() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

class Deadline {
 public:
  // Calls `notify` once `d` has passed, unless this object is destroyed first. `notify` must
  // own (or share) what it touches: it may run after the waiting coroutine moved on.
  template <class Notify>
  Deadline(boost::asio::any_io_executor ex, std::chrono::steady_clock::duration d, Notify notify)
      : timer_(std::move(ex)) {
    timer_.expires_after(d);
    timer_.async_wait([p = passed_, notify = std::move(notify)](const boost::system::error_code& ec) {
      if (ec) return;
      *p = true;
      notify();
    });
  }
  ~Deadline() { timer_.cancel(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  bool passed() const { return *passed_; }

 private:
  std::shared_ptr<bool> passed_ = std::make_shared<bool>(false);
  boost::asio::steady_timer timer_;
};

}  // namespace mk
