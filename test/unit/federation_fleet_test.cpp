// Fleet-wide calls: which clusters a call names, the schema the read tools get (its answer must
// validate against the wrapped outputSchema), and the one answer built from per-cluster results.
#include "mcp/schema.hpp"
#include "pipeline/fleet.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using namespace mk::pipeline;
namespace json = boost::json;

namespace {
std::string refused(const char* args) {
  try {
    cluster_target(json::parse(args).as_object());
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::invalid_argument);
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST(FederationFleet, Targets) {
  EXPECT_EQ(cluster_target(json::parse(R"({"name":"x"})").as_object()).kind, ClusterTarget::Kind::management);
  EXPECT_EQ(cluster_target(json::parse(R"({"cluster":""})").as_object()).kind, ClusterTarget::Kind::management);
  auto one = cluster_target(json::parse(R"({"cluster":"wc1"})").as_object());
  EXPECT_EQ(one.kind, ClusterTarget::Kind::one);
  EXPECT_EQ(one.one_ref, (ClusterRef{.ns = "", .name = "wc1"}));
  EXPECT_FALSE(one.fleet());
  EXPECT_TRUE(cluster_target(json::parse(R"({"cluster":"*"})").as_object()).fleet());
  auto list = cluster_target(json::parse(R"({"clusters":["a","b","a","org-x/a","org-x/a"]})").as_object());
  EXPECT_EQ(list.names, (std::vector<ClusterRef>{{"", "a"}, {"", "b"}, {"org-x", "a"}}));
  auto sel = cluster_target(json::parse(R"({"clusterSelector":"env=prod"})").as_object());
  EXPECT_EQ(sel.kind, ClusterTarget::Kind::selector);
  EXPECT_EQ(sel.selector, "env=prod");
}

TEST(FederationFleet, TargetRefusals) {
  EXPECT_NE(refused(R"({"cluster":"a","clusters":["b"]})").find("at most one"), std::string::npos);
  EXPECT_NE(refused(R"({"cluster":"a","context":"kind-x"})").find("cannot be combined"), std::string::npos);
  EXPECT_NE(refused(R"({"cluster":"../secrets"})").find("cluster"), std::string::npos);
  EXPECT_NE(refused(R"({"cluster":"Upper"})").find("cluster"), std::string::npos);
  EXPECT_NE(refused(R"({"clusters":["ok","a/b/c"]})").find("clusters[]"), std::string::npos);
  EXPECT_NE(refused(R"({"clusters":[]})").find("at least one"), std::string::npos);
  std::string many = R"({"clusters":[)";
  for (int i = 0; i < 51; ++i) many += (i ? ",\"c" : "\"c") + std::to_string(i) + "\"";
  many += "]}";
  EXPECT_NE(refused(many.c_str()).find("at most 50"), std::string::npos);
}

TEST(FederationFleet, ANamespaceQualifiedNameNamesOneClusterOfSeveral) {
  auto one = cluster_target(json::parse(R"({"cluster":"org-acme/wc1"})").as_object());
  EXPECT_EQ(one.kind, ClusterTarget::Kind::one);
  EXPECT_EQ(one.one_ref, (ClusterRef{.ns = "org-acme", .name = "wc1"}));
  // Each part is a DNS label; a refusal says which part is wrong.
  for (const char* bad : {R"({"cluster":"/wc1"})", R"({"cluster":"Org/wc1"})", R"({"cluster":"../wc1"})",
                          R"({"cluster":"a/b/c"})", R"({"cluster":"org/"})", R"({"cluster":"org/*"})"}) {
    auto why = refused(bad);
    EXPECT_NE(why.find("cluster"), std::string::npos) << bad << ": " << why;
  }
  EXPECT_NE(refused(R"({"cluster":"Org/wc1"})").find("namespace part"), std::string::npos);
  EXPECT_EQ(refused(R"({"cluster":"org/Wc1"})").find("namespace part"), std::string::npos);
  // Each part is held to a label's 63 characters, whatever the whole length.
  std::string long_ns = R"({"cluster":")" + std::string(64, 'a') + R"(/wc1"})";
  EXPECT_NE(refused(long_ns.c_str()).find("namespace part"), std::string::npos);
  std::string long_name = R"({"cluster":"org/)" + std::string(64, 'a') + R"("})";
  EXPECT_NE(refused(long_name.c_str()), "accepted");
  // The longest reference the schema allows is accepted.
  std::string label(63, 'a');
  std::string longest = R"({"cluster":")" + label + "/" + label + R"("})";
  EXPECT_EQ(cluster_target(json::parse(longest).as_object()).one_ref.name, label);
  EXPECT_EQ(label.size() * 2 + 1, kMaxClusterRef);
}

TEST(FederationFleet, SectionsOfOneNameInTwoNamespacesAreHeadedWithTheNamespace) {
  std::vector<ClusterOutcome> outs{{.cluster = "wc1", .ns = "org-acme", .ok = true, .result = {}, .text = "a"},
                                   {.cluster = "wc1", .ns = "org-beta", .ok = true, .result = {}, .text = "b"},
                                   {.cluster = "wc2", .ns = "org-beta", .ok = true, .result = {}, .text = "c"}};
  EXPECT_EQ(merge_fleet(outs).text, "## cluster org-acme/wc1\na\n\n## cluster org-beta/wc1\nb\n\n## cluster wc2\nc");
}

TEST(FederationFleet, MergeKeepsEachClustersErrorBesideTheOthersResults) {
  std::vector<ClusterOutcome> outs{
      {.cluster = "wc1",
       .ns = "org-acme",
       .ok = true,
       .result = json::object{{"items", json::array{1}}},
       .text = "one"},
      {.cluster = "wc3", .ns = "org-beta", .ok = false, .result = {}, .text = "Unavailable: connection refused"},
      {.cluster = "wc2",
       .ns = "org-acme",
       .ok = true,
       .result = json::object{{"items", json::array{}}},
       .text = "two"}};
  auto r = merge_fleet(outs);
  EXPECT_FALSE(r.is_error) << "one cluster failing does not fail the call";
  EXPECT_EQ(r.text,
            "## cluster wc1\none\n\n## cluster wc3\nerror: Unavailable: connection refused\n\n## cluster wc2\ntwo");
  auto& s = r.structured.as_object();
  EXPECT_EQ(s.at("summary"), json::parse(R"({"total":3,"succeeded":2,"failed":1})"));
  auto& c = s.at("clusters").as_array();
  EXPECT_EQ(
      c[1],
      json::parse(R"({"cluster":"wc3","namespace":"org-beta","ok":false,"error":"Unavailable: connection refused"})"));
  EXPECT_EQ(c[0].as_object().at("result"), json::parse(R"({"items":[1]})"));
}

TEST(FederationFleet, EveryClusterFailingIsAnError) {
  auto r = merge_fleet({{.cluster = "a", .ns = "n", .ok = false, .result = {}, .text = "x"}});
  EXPECT_TRUE(r.is_error);
  auto none = merge_fleet({});
  EXPECT_FALSE(none.is_error);
  EXPECT_EQ(none.text, "no workload cluster matched");
}

TEST(FederationFleet, WrappedOutputSchemaAcceptsBothShapes) {
  // mcp::validate knows no anyOf; check each branch the way a client's validator would.
  json::object original{{"type", "object"},
                        {"properties", json::object{{"items", json::object{{"type", "array"}}}}},
                        {"required", json::array{"items"}}};
  auto wrapped = fleet_output_schema(original);
  EXPECT_EQ(wrapped.at("type"), "object");
  auto& any = wrapped.at("anyOf").as_array();
  ASSERT_EQ(any.size(), 2u);
  EXPECT_EQ(any[0].as_object(), original);
  auto fleet = merge_fleet(
      {{.cluster = "a", .ns = "n", .ok = true, .result = json::object{{"items", json::array{}}}, .text = "t"},
       {.cluster = "b", .ns = "n", .ok = false, .result = {}, .text = "e"}});
  EXPECT_EQ(mcp::validate(fleet.structured, any[1].as_object()), "");
  EXPECT_NE(mcp::validate(fleet.structured, any[0].as_object()), "") << "the fleet shape is not the tool's own";
  EXPECT_EQ(mcp::validate(json::parse(R"({"items":[]})"), any[0].as_object()), "");
}

TEST(FederationFleet, ClusterArguments) {
  json::object s{
      {"type", "object"}, {"properties", json::object{{"context", json::object{}}}}, {"additionalProperties", false}};
  auto read = s, write = s;
  add_cluster_arguments(read, true);
  add_cluster_arguments(write, false);
  EXPECT_TRUE(read.at("properties").as_object().contains("clusters"));
  EXPECT_TRUE(read.at("properties").as_object().contains("clusterSelector"));
  EXPECT_TRUE(write.at("properties").as_object().contains("cluster"));
  EXPECT_TRUE(write.at("properties").as_object().contains("clusters"))
      << "declared, so that the pipeline's read-only refusal is what a caller sees";
  EXPECT_EQ(mcp::validate(json::parse(R"({"clusters":["a"]})"), write), "");
  EXPECT_NE(mcp::validate(json::parse(R"({"clusters":["a"],"other":1})"), write), "");
}
