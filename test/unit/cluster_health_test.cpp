#include "tools/cluster/health_checks.hpp"

#include <gtest/gtest.h>

namespace json = boost::json;
namespace h = mk::tools::health;

TEST(HealthVerbose, ParsesPassingAndFailingChecks) {
  auto checks = h::parse_verbose(
      "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n"
      "[+]poststarthook/start-apiextensions-informers ok\r\n[-]informer-sync failed\nreadyz check failed\n");
  ASSERT_EQ(checks.size(), 5u);
  EXPECT_EQ(checks[0].name, "ping");
  EXPECT_TRUE(checks[0].ok);
  EXPECT_EQ(checks[2].name, "etcd");
  EXPECT_FALSE(checks[2].ok);
  EXPECT_EQ(checks[2].message, "reason withheld");
  EXPECT_EQ(checks[3].name, "poststarthook/start-apiextensions-informers");
  EXPECT_EQ(checks[4].name, "informer-sync");
  EXPECT_EQ(checks[4].message, "");
  EXPECT_TRUE(h::parse_verbose("ok").empty());
}

TEST(HealthNodes, CountsReadyAndExplainsNotReady) {
  h::NodeTally t;
  t.add(json::parse(R"({"metadata":{"name":"a"},"status":{"conditions":[{"type":"Ready","status":"True"}]}})")
            .as_object());
  t.add(json::parse(R"({"metadata":{"name":"b"},"spec":{"unschedulable":true},"status":{"conditions":[
      {"type":"MemoryPressure","status":"False"},
      {"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"Kubelet stopped posting node status."}]}})")
            .as_object());
  t.add(json::parse(R"({"metadata":{"name":"c"}})").as_object());
  EXPECT_EQ(t.total(), 3u);
  EXPECT_EQ(t.ready(), 1u);
  auto j = t.to_json();
  EXPECT_EQ(j.at("notReady").as_uint64(), 2u);
  EXPECT_EQ(j.at("unschedulable").as_uint64(), 1u);
  auto& nr = j.at("notReadyNodes").as_array();
  ASSERT_EQ(nr.size(), 2u);
  EXPECT_EQ(nr[0].as_object().at("reason").as_string(), "NodeStatusUnknown");
  EXPECT_EQ(nr[1].as_object().at("reason").as_string(), "NoReadyCondition");
}

TEST(HealthNodes, ListsAtMostTheCap) {
  h::NodeTally t(1);
  for (int i = 0; i < 3; ++i) t.add(json::object{{"metadata", json::object{{"name", "n"}}}});
  auto j = t.to_json();
  EXPECT_EQ(j.at("notReadyNodes").as_array().size(), 1u);
  EXPECT_TRUE(j.at("notReadyNodesTruncated").as_bool());
}

TEST(HealthLatency, MinMedianMax) {
  auto s = h::latency_stats({5, 1, 3, 9});
  EXPECT_EQ(s.min_ms, 1);
  EXPECT_EQ(s.median_ms, 4);
  EXPECT_EQ(s.max_ms, 9);
  EXPECT_EQ(h::latency_stats({2, 7, 3}).median_ms, 3);
  EXPECT_EQ(h::latency_stats({}).median_ms, 0);
}
