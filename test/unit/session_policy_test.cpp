// Session eviction order when a cap is reached: never-initialised, then unused, then idlest;
// busy sessions never.
#include "transport/http/session_policy.hpp"

#include <gtest/gtest.h>

#include <vector>

using mk::transport::http::pick_eviction;
using mk::transport::http::SessionState;
using namespace std::chrono_literals;

namespace {
const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
}

TEST(SessionPolicy, AllBusyEvictsNothing) {
  std::vector<SessionState> s{{.busy = true, .initialized = false}, {.busy = true, .initialized = true}};
  EXPECT_FALSE(pick_eviction(s));
  EXPECT_FALSE(pick_eviction({}));
}

TEST(SessionPolicy, UninitialisedFirstEvenIfRecent) {
  std::vector<SessionState> s{
      {.initialized = true, .used = true, .last_seen = t0 - 50min},  // idle real client
      {.initialized = false, .last_seen = t0},                       // bare initialize, newest
      {.initialized = true, .used = false, .last_seen = t0 - 40min},
  };
  EXPECT_EQ(pick_eviction(s), 1u);
}

TEST(SessionPolicy, OldestUninitialisedFirst) {
  std::vector<SessionState> s{{.last_seen = t0}, {.last_seen = t0 - 1s}, {.busy = true, .last_seen = t0 - 1h}};
  EXPECT_EQ(pick_eviction(s), 1u);
}

TEST(SessionPolicy, UnusedBeforeIdle) {
  std::vector<SessionState> s{{.initialized = true, .used = true, .last_seen = t0 - 50min},
                              {.initialized = true, .used = false, .last_seen = t0}};
  EXPECT_EQ(pick_eviction(s), 1u);
}

TEST(SessionPolicy, IdlestOfUsed) {
  std::vector<SessionState> s{{.initialized = true, .used = true, .last_seen = t0 - 1min},
                              {.initialized = true, .used = true, .last_seen = t0 - 5min},
                              {.busy = true, .initialized = true, .used = true, .last_seen = t0 - 9min}};
  EXPECT_EQ(pick_eviction(s), 1u);
}
