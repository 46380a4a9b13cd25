#pragma once
// The messages of one request (its progress/log notifications, then its response), kept so a
// client that lost the SSE connection can resume with Last-Event-ID. One io thread: readers
// wait on a shared Signal (every waiter wakes, none cancels another's wait) and re-check.
#include "util/signal.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace mk::transport::http {

struct EventLogLimits {
  std::size_t max_events = 1000;         // notifications beyond are dropped, oldest first
  std::size_t max_bytes = 8u << 20;      // likewise for bytes; the response is never dropped
  std::size_t budget_bytes = 64u << 20;  // all finished logs kept for resumption together
};

class LogBudget;
struct BudgetAccount;

class EventLog {
 public:
  enum class End { none, response, cancelled, session_closed, expired };

  EventLog(boost::asio::any_io_executor ex, std::uint64_t number, std::string request_key = {},
           EventLogLimits limits = {});
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  std::uint64_t number() const { return number_; }
  const std::string& request_key() const { return request_key_; }  // serialized JSON-RPC id

  // Appends a message; the one carrying the request's result or error finishes the log.
  // Ignored once the log has ended.
  void push(const boost::json::object& m);
  // Ends the log without a response (the request was cancelled, its session deleted).
  void close(End why);
  // Drops the events (budget eviction); resuming then finds nothing.
  void expire();

  End end() const { return end_; }
  bool finished() const { return end_ != End::none; }
  bool has_response() const { return end_ == End::response; }
  int error_code() const { return error_code_; }  // of an error response
  const std::string& response() const;            // the last event; only when has_response()
  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return events_.size(); }

  // The first event after `seq`, copied: a reader writes it with co_await, during which the
  // log may change.
  std::optional<std::pair<std::uint64_t, std::string>> next_after(std::uint64_t seq) const;

  // One reader at a time: attach() makes the caller the reader (an older one sees
  // is_reader() turn false and ends its stream); detach() when done.
  std::uint64_t attach();
  bool is_reader(std::uint64_t ticket) const { return reader_ == ticket; }
  void detach(std::uint64_t ticket);
  bool has_reader() const { return reader_ != 0; }

  // Notified on every change; shared so a Deadline may hold it.
  const std::shared_ptr<Signal>& changed() const { return changed_; }

 private:
  friend class LogBudget;
  void drop_front();

  std::uint64_t number_;
  std::string request_key_;
  EventLogLimits limits_;
  std::deque<std::pair<std::uint64_t, std::string>> events_;  // (seq, serialized message)
  std::uint64_t next_seq_ = 1;
  std::size_t bytes_ = 0;
  End end_ = End::none;
  int error_code_ = 0;
  std::uint64_t reader_ = 0, tickets_ = 0;
  std::shared_ptr<Signal> changed_;
  std::shared_ptr<BudgetAccount> account_;  // set while parked in a LogBudget
  std::size_t parked_bytes_ = 0;
};

// Finished logs kept for resumption, bounded in bytes across every session: a log bigger than
// the per-log cap is not kept; beyond the budget the oldest parked logs (with no reader) expire.
class LogBudget {
 public:
  explicit LogBudget(EventLogLimits limits = {});
  // Call when a log has finished and has no reader. Idempotent.
  void park(const std::shared_ptr<EventLog>& log);
  std::size_t bytes() const;
  std::size_t logs() const;

 private:
  EventLogLimits limits_;
  std::shared_ptr<BudgetAccount> account_;
  std::deque<std::weak_ptr<EventLog>> parked_;  // oldest first
};

}  // namespace mk::transport::http
