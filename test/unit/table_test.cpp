// The API server's Table rendering reduced to columns/rows: priority columns, wide output,
// namespaces from the row metadata, paging markers, TSV text.
#include "output/table.hpp"

#include <gtest/gtest.h>

using namespace mk::output;
namespace json = boost::json;

namespace {

// Shape of GET /api/v1/pods?limit=2 with Accept: as=Table;g=meta.k8s.io;v=v1 (descriptions cut).
const char* kPods = R"JSON({"kind":"Table","apiVersion":"meta.k8s.io/v1",
 "metadata":{"resourceVersion":"666","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":3},
 "columnDefinitions":[
  {"name":"Name","type":"string","format":"name","description":"","priority":0},
  {"name":"Ready","type":"string","format":"","description":"","priority":0},
  {"name":"Status","type":"string","format":"","description":"","priority":0},
  {"name":"Restarts","type":"string","format":"","description":"","priority":0},
  {"name":"Age","type":"string","format":"","description":"","priority":0},
  {"name":"IP","type":"string","format":"","description":"","priority":1},
  {"name":"Node","type":"string","format":"","description":"","priority":1},
  {"name":"Nominated Node","type":"string","format":"","description":"","priority":1},
  {"name":"Readiness Gates","type":"string","format":"","description":"","priority":1}],
 "rows":[
  {"cells":["web-1","1/1","Running","0","5m","10.0.0.7","kwok-node-0","<none>","<none>"],
   "object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
             "metadata":{"name":"web-1","namespace":"shop"}}},
  {"cells":["db-0","0/1","CrashLoopBackOff","7 (30s ago)","2d",null,"kwok-node-1",null,null],
   "object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
             "metadata":{"name":"db-0","namespace":"data"}}}]})JSON";

}  // namespace

TEST(Table, KeepsOnlyPriorityZeroColumnsByDefault) {
  auto t = parse_table(json::parse(kPods), false);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"db-0", "0/1", "CrashLoopBackOff", "7 (30s ago)", "2d"}));
}

TEST(Table, PromotedColumnsJoinTheDefaultOnes) {
  auto t = parse_table(json::parse(kPods), false, {"Node"});
  EXPECT_EQ(t.columns, (std::vector<std::string>{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"}));
  EXPECT_EQ(t.rows[1].size(), 6u);
}

TEST(Table, WideKeepsEveryColumn) {
  auto t = parse_table(json::parse(kPods), true);
  ASSERT_EQ(t.columns.size(), 9u);
  EXPECT_EQ(t.columns[6], "NODE");
  EXPECT_EQ(t.columns[7], "NOMINATED NODE");
  EXPECT_EQ(t.rows[0][5], "10.0.0.7");
  EXPECT_EQ(t.rows[1][5], "<none>");  // null cells read like kubectl's
}

TEST(Table, NamespacesFromRowMetadata) {
  auto t = parse_table(json::parse(kPods), false);
  EXPECT_EQ(t.row_namespaces, (std::vector<std::string>{"shop", "data"}));
  add_namespace_column(t);
  EXPECT_EQ(t.columns.front(), "NAMESPACE");
  EXPECT_EQ(t.rows[0][0], "shop");
  EXPECT_EQ(t.rows[1][1], "db-0");
  EXPECT_EQ(t.rows[0].size(), t.columns.size());
}

TEST(Table, PagingMarkers) {
  auto t = parse_table(json::parse(kPods), false);
  EXPECT_EQ(t.continue_token, "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
  ASSERT_TRUE(t.remaining.has_value());
  EXPECT_EQ(*t.remaining, 3);
  auto last = parse_table(json::parse(R"({"kind":"Table","metadata":{"resourceVersion":"9"},
      "columnDefinitions":[{"name":"Name","priority":0}],"rows":[]})"),
                          false);
  EXPECT_TRUE(last.continue_token.empty());
  EXPECT_FALSE(last.remaining.has_value());
  EXPECT_TRUE(last.rows.empty());
}

TEST(Table, CellTypes) {
  EXPECT_EQ(cell_to_string(json::value(3)), "3");
  EXPECT_EQ(cell_to_string(json::value(2.5)), "2.5");
  EXPECT_EQ(cell_to_string(json::value(true)), "true");
  EXPECT_EQ(cell_to_string(json::value(nullptr)), "<none>");
  EXPECT_EQ(cell_to_string(json::parse(R"(["a",1])")), R"(["a",1])");
}

TEST(Table, CustomResourcePrinterColumns) {
  // additionalPrinterColumns arrive as ordinary column definitions, integers included.
  auto t = parse_table(json::parse(R"({"kind":"Table","columnDefinitions":[
      {"name":"Name","type":"string","priority":0},{"name":"Spec","type":"string","priority":0},
      {"name":"Replicas","type":"integer","priority":0},{"name":"Debug","type":"string","priority":1},
      {"name":"Age","type":"date","priority":0}],
     "rows":[{"cells":["nightly","*/5 * * * *",3,"x","1h"]}]})"),
                       false);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"NAME", "SPEC", "REPLICAS", "AGE"}));
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"nightly", "*/5 * * * *", "3", "1h"}));
  EXPECT_EQ(t.row_namespaces[0], "");  // no object metadata requested
}

TEST(Table, ShortRowsAndGarbageDoNotCrash) {
  auto t = parse_table(json::parse(R"({"columnDefinitions":[{"name":"Name","priority":0},7,{"priority":0}],
      "rows":[{"cells":["only-one"]},"junk",{"nocells":1}]})"),
                       false);
  ASSERT_EQ(t.columns.size(), 2u);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"only-one", ""}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"", ""}));
  EXPECT_TRUE(parse_table(json::parse("[]"), false).columns.empty());
}

TEST(Table, RendersTsvWithoutBreakingRows) {
  Table t;
  t.columns = {"NAME", "MESSAGE"};
  t.rows = {{"a", "line1\nline2\tx"}, {"b", "ok"}};
  EXPECT_EQ(render_tsv(t), "NAME\tMESSAGE\na\tline1 line2 x\nb\tok\n");
}
