// Store conformance: the same assertions for the memory store and the Valkey store (against a
// real redis-server this test starts). Expiry is checked with short ttls and generous margins,
// never as a speed assertion.
#include "auth/memory_store.hpp"
#include "auth/valkey_store.hpp"
#include "redis_server.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace {
namespace asio = boost::asio;
using mk::auth::Store;
using mk::auth::Ttl;
using namespace std::chrono_literals;
using testutil::run;

struct Backend {
  std::string name;
  // A store seeing keys under `prefix` in database `db`; stores of a shared backend with the
  // same prefix and db see each other's keys.
  std::function<std::unique_ptr<Store>(asio::any_io_executor, const std::string& prefix, int db)> make;
  bool shared;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

testutil::RedisServer& suite_server() {
  static auto server = std::make_unique<testutil::RedisServer>();
  return *server;
}

std::vector<Backend> backends() {
  return {
      Backend{"memory",
              [](asio::any_io_executor, const std::string&, int) { return mk::auth::make_memory_store(1000); }, false},
      Backend{"valkey",
              [](asio::any_io_executor ex, const std::string& prefix, int db) {
                mk::auth::ValkeyOptions o;
                o.url = "redis://" + suite_server().address();
                o.key_prefix = prefix;
                o.db = db;
                o.command_timeout = 5s;
                return mk::auth::make_valkey_store(std::move(ex), std::move(o));
              },
              true},
  };
}

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    // Each test its own prefix, so tests sharing one server never see each other's keys.
    prefix_ = std::string("t:") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ":" +
              std::to_string(::getpid()) + ":";
    store_ = make(prefix_);
  }
  std::unique_ptr<Store> make(const std::string& prefix, int db = 0) {
    return GetParam().make(io_.get_executor(), prefix, db);
  }
  void sleep(std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);  // the store has nothing to do meanwhile
  }

  asio::io_context io_;
  std::string prefix_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformance, GetPutOverwriteAndBinaryValues) {
  auto& s = *store_;
  EXPECT_EQ(run(io_, s.get("a")), std::nullopt);
  run(io_, s.put("a", "one", Ttl(0)));
  EXPECT_EQ(run(io_, s.get("a")), "one");
  run(io_, s.put("a", "two", Ttl(0)));
  EXPECT_EQ(run(io_, s.get("a")), "two");
  // Values are opaque bytes; an empty value is not an absent one.
  std::string bin("\0\r\n$-1\r\n\xff", 9);
  run(io_, s.put("bin", bin, Ttl(0)));
  EXPECT_EQ(run(io_, s.get("bin")), bin);
  run(io_, s.put("empty", "", Ttl(0)));
  EXPECT_EQ(run(io_, s.get("empty")), std::string());
  EXPECT_EQ(run(io_, s.check()), "");
}

TEST_P(StoreConformance, TtlExpiresZeroTtlPersistsAndPutReplacesTtl) {
  auto& s = *store_;
  run(io_, s.put("short", "x", Ttl(1000)));
  run(io_, s.put("long", "x", Ttl(60'000)));
  run(io_, s.put("forever", "x", Ttl(0)));
  run(io_, s.put("renewed", "x", Ttl(1000)));
  run(io_, s.put("renewed", "y", Ttl(0)));  // a put sets the new ttl (here: none)
  EXPECT_TRUE(run(io_, s.put_if_absent("nx", "x", Ttl(1000))));
  EXPECT_EQ(run(io_, s.get("short")), "x");
  sleep(2000ms);
  EXPECT_EQ(run(io_, s.get("short")), std::nullopt);
  EXPECT_EQ(run(io_, s.get("long")), "x");
  EXPECT_EQ(run(io_, s.get("forever")), "x");
  EXPECT_EQ(run(io_, s.get("renewed")), "y");
  // Expired keys are absent for every operation.
  EXPECT_EQ(run(io_, s.take("nx")), std::nullopt);
  EXPECT_FALSE(run(io_, s.erase("short")));
  EXPECT_TRUE(run(io_, s.put_if_absent("short", "again", Ttl(0))));
  EXPECT_EQ(run(io_, s.get("short")), "again");
}

TEST_P(StoreConformance, PutIfAbsentWritesOnce) {
  auto& s = *store_;
  EXPECT_TRUE(run(io_, s.put_if_absent("k", "first", Ttl(60'000))));
  EXPECT_FALSE(run(io_, s.put_if_absent("k", "second", Ttl(60'000))));
  EXPECT_EQ(run(io_, s.get("k")), "first");
}

// An update of a record deleted meanwhile (a revoked token family) must not recreate it.
TEST_P(StoreConformance, PutIfPresentNeverRecreates) {
  auto& s = *store_;
  EXPECT_FALSE(run(io_, s.put_if_present("grant", "v1", Ttl(60'000))));
  EXPECT_EQ(run(io_, s.get("grant")), std::nullopt);
  run(io_, s.put("grant", "v1", Ttl(60'000)));
  EXPECT_TRUE(run(io_, s.put_if_present("grant", "v2", Ttl(60'000))));
  EXPECT_EQ(run(io_, s.get("grant")), "v2");
  EXPECT_TRUE(run(io_, s.erase("grant")));
  EXPECT_FALSE(run(io_, s.put_if_present("grant", "v3", Ttl(60'000))));
  EXPECT_EQ(run(io_, s.get("grant")), std::nullopt);
}

// A session record kept alive by use: touch restarts the expiry, leaves the value, and never
// creates a key that is gone.
TEST_P(StoreConformance, TouchRestartsExpiryAndNeverRecreates) {
  auto& s = *store_;
  EXPECT_FALSE(run(io_, s.touch("session", Ttl(60'000))));
  EXPECT_EQ(run(io_, s.get("session")), std::nullopt);
  run(io_, s.put("session", "v", Ttl(1000)));
  EXPECT_TRUE(run(io_, s.touch("session", Ttl(60'000))));
  sleep(2000ms);
  EXPECT_EQ(run(io_, s.get("session")), "v");
  EXPECT_TRUE(run(io_, s.touch("session", Ttl(1000))));
  sleep(2000ms);
  EXPECT_EQ(run(io_, s.get("session")), std::nullopt);
  EXPECT_FALSE(run(io_, s.touch("session", Ttl(60'000))));
}

TEST_P(StoreConformance, TakeReturnsOnceAndDeletes) {
  auto& s = *store_;
  run(io_, s.put("code", "v", Ttl(60'000)));
  EXPECT_EQ(run(io_, s.take("code")), "v");
  EXPECT_EQ(run(io_, s.take("code")), std::nullopt);
  EXPECT_EQ(run(io_, s.get("code")), std::nullopt);
}

// N coroutines race for the same keys: for each key exactly one take wins, and exactly one
// put_if_absent. With Valkey these are truly concurrent at the server (several connections).
TEST_P(StoreConformance, ConcurrentTakeAndPutIfAbsentHaveOneWinner) {
  auto& s = *store_;
  constexpr int kKeys = 10, kRacers = 16;
  for (int k = 0; k < kKeys; ++k) run(io_, s.put("race" + std::to_string(k), "v" + std::to_string(k), Ttl(60'000)));
  std::vector<int> took(kKeys, 0), wrote(kKeys, 0);
  int errors = 0;
  for (int k = 0; k < kKeys; ++k) {
    for (int r = 0; r < kRacers; ++r) {
      auto one = [](Store& s, int k, std::vector<int>& took, std::vector<int>& wrote) -> asio::awaitable<void> {
        auto v = co_await s.take("race" + std::to_string(k));
        if (v) {
          EXPECT_EQ(*v, "v" + std::to_string(k));
          ++took[k];
        }
        bool w = co_await s.put_if_absent("nx" + std::to_string(k), "x", Ttl(60'000));
        if (w) ++wrote[k];
      };
      asio::co_spawn(io_, one(s, k, took, wrote), [&errors](std::exception_ptr e) { errors += e ? 1 : 0; });
    }
  }
  io_.restart();
  io_.run();
  EXPECT_EQ(errors, 0);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(took[k], 1) << "key " << k;
    EXPECT_EQ(wrote[k], 1) << "key " << k;
  }
}

TEST_P(StoreConformance, EraseReportsWhetherTheKeyExisted) {
  auto& s = *store_;
  run(io_, s.put("e", "v", Ttl(0)));
  EXPECT_TRUE(run(io_, s.erase("e")));
  EXPECT_FALSE(run(io_, s.erase("e")));
  EXPECT_EQ(run(io_, s.get("e")), std::nullopt);
}

// A fixed window: it starts at the first increment and later increments do not extend it.
TEST_P(StoreConformance, IncrCountsInAFixedWindow) {
  auto& s = *store_;
  const Ttl window(2000);
  EXPECT_EQ(run(io_, s.incr("n", window)), 1);  // t = 0: the window ends at 2000 ms
  EXPECT_EQ(run(io_, s.incr("n", window)), 2);
  sleep(1000ms);
  EXPECT_EQ(run(io_, s.incr("n", window)), 3);  // t ~ 1000 ms: same window
  sleep(1500ms);
  EXPECT_EQ(run(io_, s.incr("n", window)), 1);  // t ~ 2500 ms: a new window (an extended one would end at 3000)
  // Without a window the count stays.
  EXPECT_EQ(run(io_, s.incr("z", Ttl(0))), 1);
  EXPECT_EQ(run(io_, s.incr("z", Ttl(0))), 2);
  // A counter is a readable value.
  EXPECT_EQ(run(io_, s.get("z")), "2");
}

TEST_P(StoreConformance, IncrOnANonNumberIsRefusedAndLeavesTheValue) {
  auto& s = *store_;
  for (std::string v : {"abc", "12abc", " 12", "", "9223372036854775807"}) {
    run(io_, s.put("notnum", v, Ttl(0)));
    try {
      run(io_, s.incr("notnum", Ttl(60'000)));
      ADD_FAILURE() << "incr on \"" << v << "\" succeeded";
    } catch (const mk::Error& e) {
      EXPECT_EQ(e.code(), mk::Errc::invalid_argument) << v << ": " << e.what();
    }
    EXPECT_EQ(run(io_, s.get("notnum")), v);
  }
}

TEST_P(StoreConformance, PrefixesIsolateAndSharedBackendsShare) {
  auto a = make(prefix_ + "a:");
  auto b = make(prefix_ + "b:");
  run(io_, a->put("k", "from-a", Ttl(0)));
  EXPECT_EQ(run(io_, b->get("k")), std::nullopt);
  EXPECT_FALSE(run(io_, b->erase("k")));
  EXPECT_EQ(run(io_, b->incr("k", Ttl(0))), 1);
  EXPECT_EQ(run(io_, a->get("k")), "from-a");
  if (GetParam().shared) {
    // Two replicas with one prefix see one state: what lets a token issued by one be redeemed by the other.
    auto a2 = make(prefix_ + "a:");
    EXPECT_EQ(run(io_, a2->take("k")), "from-a");
    EXPECT_EQ(run(io_, a->get("k")), std::nullopt);
  }
}

TEST_P(StoreConformance, DatabaseIndexIsolates) {
  auto db0 = make(prefix_, 0);
  auto db3 = make(prefix_, 3);
  run(io_, db0->put("k", "zero", Ttl(0)));
  EXPECT_EQ(run(io_, db3->get("k")), std::nullopt);
  run(io_, db3->put("k", "three", Ttl(0)));
  EXPECT_EQ(run(io_, db0->get("k")), "zero");
  EXPECT_EQ(run(io_, db3->get("k")), "three");
  if (GetParam().shared) {
    auto again = make(prefix_, 3);
    EXPECT_EQ(run(io_, again->get("k")), "three");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(backends()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
