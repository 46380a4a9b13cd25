// SSE event logs of the HTTP transport: several readers waiting at once, one reader per
// stream, caps per log and a byte budget over the finished logs kept for resumption.
#include "transport/http/event_log.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace asio = boost::asio;
namespace json = boost::json;
using mk::transport::http::EventLog;
using mk::transport::http::EventLogLimits;
using mk::transport::http::LogBudget;

namespace {
json::object note(std::string text) {
  return {{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", {{"message", std::move(text)}}}};
}
json::object answer(int id, std::string text = "ok") {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", {{"text", std::move(text)}}}};
}

// A reader as the endpoint runs one: wait for a change, take what is new, until the end.
asio::awaitable<void> reader(std::shared_ptr<EventLog> log, int* wakeups, std::uint64_t* seen) {
  auto wake = log->changed();
  while (!log->finished()) {
    co_await wake->wait();
    ++*wakeups;
    while (auto ev = log->next_after(*seen)) *seen = ev->first;
  }
}

// Runs ready handlers until none is left; false when they keep coming (a spin).
bool settles(asio::io_context& io) {
  for (int i = 0; i < 10000; ++i)
    if (io.poll_one() == 0) return true;
  return false;
}
}  // namespace

TEST(EventLog, TwoWaitersDoNotWakeEachOther) {
  asio::io_context io;
  auto log = std::make_shared<EventLog>(io.get_executor(), 1, "1");
  int wa = 0, wb = 0;
  std::uint64_t sa = 0, sb = 0;
  asio::co_spawn(io, reader(log, &wa, &sa), asio::detached);
  asio::co_spawn(io, reader(log, &wb, &sb), asio::detached);
  ASSERT_TRUE(settles(io)) << "waiting readers spin";
  EXPECT_EQ(wa + wb, 0);
  log->push(note("a"));
  ASSERT_TRUE(settles(io));
  EXPECT_EQ(wa, 1);
  EXPECT_EQ(wb, 1);
  EXPECT_EQ(sa, 1u);
  EXPECT_EQ(sb, 1u);
  log->push(answer(1));
  ASSERT_TRUE(settles(io));
  EXPECT_EQ(sa, 2u);
  EXPECT_EQ(sb, 2u);
  EXPECT_TRUE(log->has_response());
  EXPECT_EQ(io.run(), 0u);  // both readers ended
}

TEST(EventLog, CloseEndsWaitersWithoutResponse) {
  asio::io_context io;
  auto log = std::make_shared<EventLog>(io.get_executor(), 1, "7");
  int w = 0;
  std::uint64_t s = 0;
  asio::co_spawn(io, reader(log, &w, &s), asio::detached);
  ASSERT_TRUE(settles(io));
  log->close(EventLog::End::cancelled);
  ASSERT_TRUE(settles(io));
  EXPECT_EQ(w, 1);
  EXPECT_EQ(log->end(), EventLog::End::cancelled);
  log->push(answer(7));  // a late response is not kept
  EXPECT_FALSE(log->has_response());
  EXPECT_EQ(log->size(), 0u);
}

TEST(EventLog, OneReaderAtATime) {
  asio::io_context io;
  EventLog log(io.get_executor(), 1);
  auto post = log.attach();
  EXPECT_TRUE(log.is_reader(post));
  auto get1 = log.attach();  // a resume GET takes over
  EXPECT_FALSE(log.is_reader(post));
  EXPECT_TRUE(log.is_reader(get1));
  auto get2 = log.attach();
  EXPECT_FALSE(log.is_reader(get1));
  log.detach(get1);  // an old reader leaving does not detach the current one
  EXPECT_TRUE(log.has_reader());
  log.detach(get2);
  EXPECT_FALSE(log.has_reader());
}

TEST(EventLog, NotificationsCappedResponseKept) {
  asio::io_context io;
  EventLog log(io.get_executor(), 1, "1", EventLogLimits{.max_events = 10, .max_bytes = 1000});
  for (int i = 0; i < 50; ++i) log.push(note("n" + std::to_string(i)));
  EXPECT_EQ(log.size(), 10u);
  EXPECT_EQ(log.next_after(0)->first, 41u);  // oldest dropped
  log.push(note(std::string(5000, 'x')));    // alone over the byte cap: skipped
  EXPECT_LE(log.bytes(), 1000u);
  for (int i = 0; i < 20; ++i) log.push(note(std::string(200, 'y')));
  EXPECT_LE(log.bytes(), 1000u);
  log.push(answer(1, std::string(3000, 'r')));  // the response is never dropped
  ASSERT_TRUE(log.has_response());
  EXPECT_NE(log.response().find("rrrr"), std::string::npos);
}

TEST(LogBudget, OldestFinishedLogsExpireBeyondBudget) {
  asio::io_context io;
  EventLogLimits lim{.max_bytes = 10'000, .budget_bytes = 25'000};
  LogBudget budget(lim);
  std::vector<std::shared_ptr<EventLog>> logs;
  for (int i = 0; i < 10; ++i) {
    auto l = std::make_shared<EventLog>(io.get_executor(), i + 1, std::to_string(i), lim);
    l->push(answer(i, std::string(6000, 'a')));
    budget.park(l);
    logs.push_back(l);
    EXPECT_LE(budget.bytes(), lim.budget_bytes);
  }
  EXPECT_EQ(budget.logs(), 4u);  // 4 x ~6 KB fit in 25 KB
  for (int i = 0; i < 6; ++i) EXPECT_EQ(logs[i]->end(), EventLog::End::expired) << i;
  for (int i = 6; i < 10; ++i) EXPECT_TRUE(logs[i]->has_response()) << i;
  // A log being read again is not expired; the next oldest goes instead.
  auto t = logs[6]->attach();
  auto l = std::make_shared<EventLog>(io.get_executor(), 11, "11", lim);
  l->push(answer(11, std::string(6000, 'b')));
  budget.park(l);
  EXPECT_TRUE(logs[6]->has_response());
  EXPECT_EQ(logs[7]->end(), EventLog::End::expired);
  logs[6]->detach(t);
  // Logs that go away with their session leave the account.
  logs.clear();
  l.reset();
  EXPECT_EQ(budget.bytes(), 0u);
  EXPECT_EQ(budget.logs(), 0u);
}

TEST(LogBudget, OversizedOrUnansweredLogsAreNotKept) {
  asio::io_context io;
  EventLogLimits lim{.max_bytes = 10'000, .budget_bytes = 100'000};
  LogBudget budget(lim);
  auto big = std::make_shared<EventLog>(io.get_executor(), 1, "1", lim);
  big->push(answer(1, std::string(20'000, 'z')));
  budget.park(big);
  EXPECT_EQ(big->end(), EventLog::End::expired);
  auto cancelled = std::make_shared<EventLog>(io.get_executor(), 2, "2", lim);
  cancelled->push(note("n"));
  cancelled->close(EventLog::End::cancelled);
  budget.park(cancelled);
  EXPECT_EQ(cancelled->size(), 0u);
  auto running = std::make_shared<EventLog>(io.get_executor(), 3, "3", lim);
  running->push(note("n"));
  budget.park(running);  // not finished: ignored
  EXPECT_EQ(running->size(), 1u);
  EXPECT_EQ(budget.bytes(), 0u);
}

// 1000 sessions x 32 finished logs of 1 MiB would be 32 GiB; the budget keeps 64 MiB (200 logs
// of 1 MiB here).
TEST(LogBudget, ManySessionsStayWithinBudget) {
  asio::io_context io;
  EventLogLimits lim;
  LogBudget budget(lim);
  std::vector<std::shared_ptr<EventLog>> kept;
  std::string payload(1u << 20, 'p');
  for (int i = 0; i < 200; ++i) {
    auto l = std::make_shared<EventLog>(io.get_executor(), i, std::to_string(i), lim);
    l->push(answer(i, payload));
    budget.park(l);
    kept.push_back(l);
  }
  EXPECT_LE(budget.bytes(), lim.budget_bytes);
  std::size_t held = 0;
  for (auto& l : kept) held += l->bytes();
  EXPECT_LE(held, lim.budget_bytes);
}
