#include "transport/http/event_log.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace mk::transport::http {
namespace json = boost::json;

struct BudgetAccount {
  std::size_t bytes = 0;
  std::size_t logs = 0;
};

EventLog::EventLog(boost::asio::any_io_executor ex, std::uint64_t number, std::string request_key,
                   EventLogLimits limits)
    : number_(number), request_key_(std::move(request_key)), limits_(limits),
      changed_(std::make_shared<Signal>(std::move(ex))) {}

EventLog::~EventLog() {
  if (account_) {
    account_->bytes -= parked_bytes_;
    --account_->logs;
  }
  changed_->notify();
}

void EventLog::drop_front() {
  bytes_ -= events_.front().second.size();
  events_.pop_front();
}

void EventLog::push(const json::object& m) {
  if (finished()) return;
  bool is_response = m.contains("id") && (m.contains("result") || m.contains("error"));
  auto data = json::serialize(m);
  // Notifications beyond the caps are dropped (oldest first); the response never is.
  if (!is_response) {
    while (!events_.empty() && (events_.size() >= limits_.max_events || bytes_ + data.size() > limits_.max_bytes))
      drop_front();
    if (data.size() > limits_.max_bytes) {  // a single oversized notification: skipped
      ++next_seq_;
      changed_->notify();
      return;
    }
  }
  bytes_ += data.size();
  events_.emplace_back(next_seq_++, std::move(data));
  if (is_response) {
    end_ = End::response;
    if (auto* e = m.if_contains("error"); e && e->is_object())
      if (auto* c = e->as_object().if_contains("code"); c && c->is_int64())
        error_code_ = static_cast<int>(c->as_int64());
  }
  changed_->notify();
}

void EventLog::close(End why) {
  if (finished()) return;
  end_ = why;
  changed_->notify();
}

void EventLog::expire() {
  events_.clear();
  bytes_ = 0;
  if (end_ == End::none || end_ == End::response) end_ = End::expired;
  if (account_) {
    account_->bytes -= parked_bytes_;
    --account_->logs;
    account_.reset();
    parked_bytes_ = 0;
  }
  changed_->notify();
}

const std::string& EventLog::response() const {
  static const std::string none;
  return has_response() && !events_.empty() ? events_.back().second : none;
}

std::optional<std::pair<std::uint64_t, std::string>> EventLog::next_after(std::uint64_t seq) const {
  auto it =
      std::upper_bound(events_.begin(), events_.end(), seq, [](std::uint64_t s, const auto& e) { return s < e.first; });
  if (it == events_.end()) return std::nullopt;
  return *it;
}

std::uint64_t EventLog::attach() {
  reader_ = ++tickets_;
  changed_->notify();  // the previous reader, if any, ends
  return reader_;
}

void EventLog::detach(std::uint64_t ticket) {
  if (reader_ == ticket) reader_ = 0;
}

LogBudget::LogBudget(EventLogLimits limits) : limits_(limits), account_(std::make_shared<BudgetAccount>()) {}

std::size_t LogBudget::bytes() const { return account_->bytes; }
std::size_t LogBudget::logs() const { return account_->logs; }

void LogBudget::park(const std::shared_ptr<EventLog>& log) {
  if (!log || log->account_ || log->has_reader() || !log->finished()) return;
  if (!log->has_response()) {  // cancelled or its session gone: nothing to resume
    log->expire();
    return;
  }
  if (log->bytes() > limits_.max_bytes || log->bytes() > limits_.budget_bytes) {
    log->expire();
    return;
  }
  log->account_ = account_;
  log->parked_bytes_ = log->bytes();
  account_->bytes += log->parked_bytes_;
  ++account_->logs;
  parked_.push_back(log);
  // Oldest first; a log being read again (resume GET) is skipped and stays.
  for (auto it = parked_.begin(); account_->bytes > limits_.budget_bytes && it != parked_.end();) {
    auto l = it->lock();
    if (!l || l->account_ != account_) {
      it = parked_.erase(it);
    } else if (!l->has_reader()) {
      l->expire();
      it = parked_.erase(it);
    } else {
      ++it;
    }
  }
  // Entries of logs that went away with their session.
  if (parked_.size() > 2 * account_->logs + 64)
    std::erase_if(parked_, [this](const std::weak_ptr<EventLog>& w) {
      auto l = w.lock();
      return !l || l->account_ != account_;
    });
}

}  // namespace mk::transport::http
