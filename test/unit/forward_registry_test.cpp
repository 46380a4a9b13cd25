// Who sees and stops which port-forward: a session's own; a stateless caller only what it
// names by its unguessable id; stateless forwards end when idle (injected clock, and the real
// sweeper with a short timeout); counts are bounded per scope.
#include "tools/pods/forward_registry.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <regex>
#include <set>

using namespace mk;
using namespace mk::tools;
using namespace std::chrono_literals;

namespace {
struct FakeForward : Forwarding {
  bool stopped = false;
  std::uint64_t traffic = 0;
  void stop() override { stopped = true; }
  std::uint64_t activity() const override { return traffic; }
  boost::json::object info() const override { return {}; }
};

const ForwardCaller kSession{ForwardScope::session, {}};
const ForwardCaller kStateless{ForwardScope::capability, {}};

struct ForwardRegistryTest : ::testing::Test {
  boost::asio::io_context io;
  ForwardClock::time_point now{};
  std::shared_ptr<ForwardRegistry> reg = make({.max_session = 3, .max_capability = 3, .idle_timeout = 60s});

  std::shared_ptr<ForwardRegistry> make(ForwardLimits l) {
    return std::make_shared<ForwardRegistry>(io.get_executor(), l, [this] { return now; });
  }
  std::pair<std::string, std::shared_ptr<FakeForward>> start(const ForwardCaller& c, ForwardRegistry* r = nullptr) {
    if (!r) r = reg.get();
    auto f = std::make_shared<FakeForward>();
    auto id = r->new_id(c.scope);
    r->add(c, id, f);
    return {id, f};
  }
  std::vector<std::string> ids(const ForwardCaller& c, std::vector<std::string> names = {}) {
    std::vector<std::string> out;
    for (auto* r : reg->visible(c, names)) out.push_back(r->id);
    return out;
  }
};
}  // namespace

TEST_F(ForwardRegistryTest, StatelessIdsAreRandom128Bit) {
  std::set<std::string> seen;
  std::regex shape("pf-[A-Za-z0-9_-]{22}");
  for (int i = 0; i < 1000; ++i) {
    auto id = reg->new_id(ForwardScope::capability);
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
  EXPECT_EQ(reg->new_id(ForwardScope::session), "pf-1");
  EXPECT_EQ(reg->new_id(ForwardScope::session), "pf-2");
}

TEST_F(ForwardRegistryTest, StatelessCallerSeesAndStopsOnlyWhatItNames) {
  auto [a, fa] = start(kStateless);
  auto [b, fb] = start(kStateless);
  EXPECT_TRUE(ids(kStateless).empty()) << "a stateless list without ids shows nothing";
  EXPECT_EQ(ids(kStateless, {a}), std::vector<std::string>{a});
  EXPECT_EQ(ids(kStateless, {"pf-1", "pf-nope", b}), std::vector<std::string>{b});
  EXPECT_FALSE(reg->stop(kStateless, "pf-1"));
  EXPECT_EQ(reg->stop_visible(kStateless, {}), 0u);
  EXPECT_FALSE(fa->stopped || fb->stopped);
  EXPECT_TRUE(reg->stop(kStateless, a));
  EXPECT_TRUE(fa->stopped);
  EXPECT_FALSE(reg->stop(kStateless, a));
  std::vector<std::string> both{a, b};
  EXPECT_EQ(reg->stop_visible(kStateless, both), 1u);
  EXPECT_TRUE(fb->stopped);
  EXPECT_EQ(reg->size(), 0u);
}

TEST_F(ForwardRegistryTest, StatelessCallerCannotReachSessionForwards) {
  auto [s, fs] = start(kSession);
  EXPECT_EQ(s, "pf-1");
  EXPECT_TRUE(ids(kStateless, {s}).empty());
  EXPECT_FALSE(reg->stop(kStateless, s));
  std::vector<std::string> named{s};
  EXPECT_EQ(reg->stop_visible(kStateless, named), 0u);
  EXPECT_FALSE(fs->stopped);
  // The session lists its own (not the stateless ones) and may stop a stateless one by id.
  auto [c, fc] = start(kStateless);
  EXPECT_EQ(ids(kSession), std::vector<std::string>{s});
  EXPECT_TRUE(reg->stop(kSession, c));
  EXPECT_EQ(reg->stop_visible(kSession), 1u);
  EXPECT_TRUE(fs->stopped && fc->stopped);
}

TEST_F(ForwardRegistryTest, OwnerMustMatchWhenSet) {
  ForwardCaller alice{ForwardScope::capability, "alice"}, bob{ForwardScope::capability, "bob"};
  auto [a, fa] = start(alice);
  EXPECT_TRUE(ids(bob, {a}).empty());
  EXPECT_FALSE(reg->stop(bob, a));
  EXPECT_FALSE(reg->stop(kStateless, a));
  EXPECT_EQ(ids(alice, {a}), std::vector<std::string>{a});
  EXPECT_TRUE(reg->stop(alice, a));
}

TEST_F(ForwardRegistryTest, IdleStatelessForwardsExpireSessionOnesDoNot) {
  auto [s, fs] = start(kSession);
  auto [a, fa] = start(kStateless);
  auto [b, fb] = start(kStateless);
  now += 59s;
  EXPECT_EQ(reg->expire(), 0u);
  EXPECT_EQ(ids(kStateless, {b}).size(), 1u);  // listing b by id is a use
  now += 1s;
  EXPECT_EQ(reg->expire(), 1u);
  EXPECT_TRUE(fa->stopped);
  EXPECT_FALSE(fb->stopped);
  EXPECT_TRUE(ids(kStateless, {a}).empty());
  now += 10min;
  EXPECT_EQ(reg->expire(), 1u);
  EXPECT_TRUE(fb->stopped);
  EXPECT_FALSE(fs->stopped) << "session forwards end with their session, not when idle";
  EXPECT_EQ(reg->size(), 1u);
}

TEST_F(ForwardRegistryTest, TrafficKeepsAStatelessForwardAliveSilenceEndsIt) {
  auto [a, fa] = start(kStateless);
  for (int i = 0; i < 10; ++i) {  // used every 59 s for 10 minutes
    now += 59s;
    fa->traffic += 100;
    EXPECT_EQ(reg->expire(), 0u);
  }
  now += 59s;  // silence: an open connection without bytes counts for nothing
  EXPECT_EQ(reg->expire(), 0u);
  now += 1s;
  EXPECT_EQ(reg->expire(), 1u);
  EXPECT_TRUE(fa->stopped);
}

TEST_F(ForwardRegistryTest, CountsBoundedPerScopeAndExpiredOnesFreeRoom) {
  for (int i = 0; i < 3; ++i) start(kSession);
  for (int i = 0; i < 3; ++i) start(kStateless);
  try {
    reg->check_capacity(ForwardScope::capability);
    ADD_FAILURE() << "a fourth stateless forward fit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::too_large);
  }
  EXPECT_THROW(start(kSession), Error);
  EXPECT_THROW(start(kStateless), Error);
  now += 61s;
  EXPECT_NO_THROW(start(kStateless));  // the idle ones were swept first
  EXPECT_EQ(reg->size(), 4u);
}

TEST_F(ForwardRegistryTest, DestructionStopsEverything) {
  auto [s, fs] = start(kSession);
  auto [a, fa] = start(kStateless);
  reg.reset();
  EXPECT_TRUE(fs->stopped && fa->stopped);
  io.run();  // the cancelled sweeper ends
}

TEST(ForwardRegistrySweeper, StopsAnIdleStatelessForwardWithoutAnyCall) {
  boost::asio::io_context io;
  auto reg = std::make_shared<ForwardRegistry>(io.get_executor(), ForwardLimits{.idle_timeout = 20ms});
  auto f = std::make_shared<FakeForward>();
  reg->add(kStateless, reg->new_id(ForwardScope::capability), f);
  // The sweeper ends by itself once no stateless forward is left: run() returns.
  io.run_for(30s);
  EXPECT_TRUE(f->stopped);
  EXPECT_EQ(reg->size(), 0u);
  EXPECT_TRUE(io.stopped());
}
