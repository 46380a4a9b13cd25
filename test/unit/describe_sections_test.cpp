#include "tools/resources/describe_sections.hpp"

#include <gtest/gtest.h>

namespace json = boost::json;
namespace d = mk::tools::describe;

TEST(DescribeTime, ParsesRfc3339Variants) {
  auto z = d::parse_time_us("2024-03-01T12:00:00Z");
  ASSERT_TRUE(z);
  EXPECT_EQ(*z, 1709294400LL * 1000000);
  EXPECT_EQ(*d::parse_time_us("2024-03-01T12:00:00.250000Z"), *z + 250000);
  EXPECT_EQ(*d::parse_time_us("2024-03-01T14:00:00+02:00"), *z);
  EXPECT_FALSE(d::parse_time_us(""));
  EXPECT_FALSE(d::parse_time_us("2024-03-01 12:00:00"));
  EXPECT_FALSE(d::parse_time_us("2024-03-01T12:00:00Zjunk"));
}

TEST(DescribeTime, HumanDurationLikeKubectl) {
  EXPECT_EQ(d::human_duration(45), "45s");
  EXPECT_EQ(d::human_duration(192), "3m12s");
  EXPECT_EQ(d::human_duration(17 * 60), "17m");
  EXPECT_EQ(d::human_duration(5 * 3600 + 180), "5h3m");
  EXPECT_EQ(d::human_duration(20 * 3600), "20h");
  EXPECT_EQ(d::human_duration(3 * 86400 + 4 * 3600), "3d4h");
  EXPECT_EQ(d::human_duration(120 * 86400), "120d");
  EXPECT_EQ(d::human_duration(-5), "0s");
}

TEST(DescribeEvents, MatchesKindNamespaceAndUid) {
  d::Subject s{"Pod", "web", "ns1", "uid-1"};
  auto ev = [](const char* kind, const char* name, const char* ns, const char* uid) {
    json::object io{{"kind", kind}, {"name", name}, {"namespace", ns}};
    if (*uid) io["uid"] = uid;
    return json::object{{"involvedObject", io}};
  };
  EXPECT_TRUE(d::event_is_about(ev("Pod", "web", "ns1", "uid-1"), s));
  EXPECT_TRUE(d::event_is_about(ev("Pod", "web", "ns1", ""), s));
  EXPECT_FALSE(d::event_is_about(ev("Service", "web", "ns1", ""), s));   // same name, other kind
  EXPECT_FALSE(d::event_is_about(ev("Pod", "web", "ns1", "uid-0"), s));  // an earlier pod named web
  EXPECT_FALSE(d::event_is_about(ev("Pod", "web", "ns2", "uid-1"), s));
  d::Subject node{"Node", "n1", "", "real-uid"};
  EXPECT_TRUE(d::event_is_about(ev("Node", "n1", "", "n1"), node));  // kubelet uses the name as uid
}

TEST(DescribeEvents, NewestFirstAcrossTimestampFlavours) {
  std::vector<d::EventRow> rows;
  // legacy event: lastTimestamp wins over firstTimestamp
  rows.push_back(d::event_row(json::parse(R"({"metadata":{"name":"a"},"type":"Normal","reason":"Old",
      "firstTimestamp":"2024-01-01T00:00:00Z","lastTimestamp":"2024-01-01T00:05:00Z","count":3})")
                                  .as_object()));
  // events.k8s.io style: only eventTime (MicroTime) and a series
  rows.push_back(d::event_row(json::parse(R"({"metadata":{"name":"b"},"type":"Warning","reason":"Newest",
      "eventTime":"2024-01-01T00:06:00.000001Z","series":{"count":7,"lastObservedTime":"2024-01-01T00:10:00.5Z"}})")
                                  .as_object()));
  // only eventTime
  rows.push_back(d::event_row(json::parse(R"({"metadata":{"name":"c"},"type":"Normal","reason":"Middle",
      "eventTime":"2024-01-01T00:06:00.000001Z"})")
                                  .as_object()));
  d::sort_newest_first(rows);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].reason, "Newest");
  EXPECT_EQ(rows[0].count, 7);
  EXPECT_EQ(rows[0].last_seen, "2024-01-01T00:10:00.5Z");
  EXPECT_EQ(rows[1].reason, "Middle");
  EXPECT_EQ(rows[1].count, 1);
  EXPECT_EQ(rows[2].reason, "Old");
  EXPECT_EQ(rows[2].count, 3);
  EXPECT_EQ(rows[2].first_seen, "2024-01-01T00:00:00Z");

  auto now = *d::parse_time_us("2024-01-01T00:15:00Z");
  json::array arr;
  for (auto& r : rows) arr.push_back(d::event_json(r, now));
  EXPECT_EQ(arr[0].as_object().at("age").as_string(), "4m59s");
  auto text = d::render_events(arr, 5, false);
  EXPECT_NE(text.find("Events (3 of 5, newest first)"), std::string::npos) << text;
  EXPECT_LT(text.find("Newest (x7)"), text.find("Middle"));
  EXPECT_LT(text.find("Middle"), text.find("Old (x3)"));
  EXPECT_EQ(d::render_events(json::array{}, 0, false), "Events: <none>\n");
}

TEST(DescribeContainers, StatesAndRestartReasons) {
  auto pod = json::parse(R"({"kind":"Pod","spec":{
      "initContainers":[{"name":"init","image":"busybox"}],
      "containers":[{"name":"app","image":"app:1"},{"name":"side","image":"side:1"},{"name":"new","image":"n:1"}]},
    "status":{"initContainerStatuses":[{"name":"init","ready":false,"restartCount":0,
        "state":{"terminated":{"reason":"Completed","exitCode":0,"finishedAt":"2024-01-01T00:00:10Z"}}}],
      "containerStatuses":[
        {"name":"app","ready":false,"restartCount":4,"state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 40s"}},
         "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2024-01-01T00:09:00Z"}}},
        {"name":"side","ready":true,"started":true,"restartCount":0,"state":{"running":{"startedAt":"2024-01-01T00:00:20Z"}}}]}})")
                 .as_object();
  auto cs = d::container_states(pod);
  ASSERT_EQ(cs.size(), 4u);
  auto& init = cs[0].as_object();
  EXPECT_EQ(init.at("type").as_string(), "init");
  EXPECT_EQ(init.at("state").as_object().at("reason").as_string(), "Completed");
  auto& app = cs[1].as_object();
  EXPECT_EQ(app.at("restartCount").as_int64(), 4);
  EXPECT_EQ(app.at("ready").as_bool(), false);
  EXPECT_EQ(app.at("state").as_object().at("status").as_string(), "waiting");
  EXPECT_EQ(app.at("state").as_object().at("reason").as_string(), "CrashLoopBackOff");
  EXPECT_EQ(app.at("lastState").as_object().at("reason").as_string(), "OOMKilled");
  EXPECT_EQ(app.at("lastState").as_object().at("exitCode").as_int64(), 137);
  EXPECT_EQ(cs[2].as_object().at("state").as_object().at("status").as_string(), "running");
  EXPECT_EQ(cs[3].as_object().at("state").as_object().at("status").as_string(), "unknown");  // no status yet

  auto text = d::render_containers(cs, *d::parse_time_us("2024-01-01T00:10:00Z"));
  EXPECT_NE(text.find("init/init [busybox]: Terminated (Completed, exit code 0)"), std::string::npos) << text;
  EXPECT_NE(text.find("app [app:1]: Waiting (CrashLoopBackOff): back-off 40s, not ready, restarts 4; last: "
                      "Terminated (OOMKilled, exit code 137) 60s ago"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("side [side:1]: Running for 9m40s, ready, restarts 0"), std::string::npos) << text;
}

TEST(DescribeReplicas, FillsOmittedZeroCounters) {
  auto dep = json::parse(R"({"metadata":{"generation":3},"spec":{"replicas":2},
      "status":{"replicas":2,"updatedReplicas":2,"unavailableReplicas":2,"observedGeneration":2}})")
                 .as_object();
  auto r = d::replica_status(dep);
  EXPECT_EQ(r.at("desired").as_int64(), 2);
  EXPECT_EQ(r.at("readyReplicas").as_int64(), 0);
  EXPECT_EQ(r.at("availableReplicas").as_int64(), 0);
  auto text = d::render_replicas(r);
  EXPECT_NE(text.find("Replicas: 2 desired | 2 current | 2 updated | 0 ready | 0 available | 2 unavailable"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("has not observed generation 3"), std::string::npos) << text;
  EXPECT_TRUE(
      d::replica_status(json::parse(R"({"spec":{"containers":[]},"status":{"phase":"Running"}})").as_object()).empty());
}

TEST(DescribeConditions, KeepsReasonAndMessage) {
  auto o = json::parse(R"({"status":{"conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady",
      "message":"containers with unready status: [app]","lastTransitionTime":"2024-01-01T00:00:00Z"},
      {"type":"PodScheduled","status":"True"}]}})")
               .as_object();
  auto cs = d::conditions(o);
  ASSERT_EQ(cs.size(), 2u);
  auto text = d::render_conditions(cs);
  EXPECT_NE(text.find("Ready=False (ContainersNotReady: containers with unready status: [app])"), std::string::npos);
  EXPECT_NE(text.find("PodScheduled=True\n"), std::string::npos);
}

TEST(DescribeText, TruncatesOnCodePointBoundary) {
  std::string s = "ab\xC3\xA9z";  // "abéz"
  EXPECT_EQ(d::truncate_utf8(s, 3), "ab...");
  EXPECT_EQ(d::truncate_utf8(s, 10), s);
}
