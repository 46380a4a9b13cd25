#include "mcp/schema.hpp"

#include <gtest/gtest.h>

namespace json = boost::json;

namespace {
json::object schema() {
  return json::parse(R"({"type":"object","additionalProperties":false,"required":["name"],
    "properties":{"name":{"type":"string","minLength":1},"limit":{"type":"integer","minimum":1,"maximum":10},
    "mode":{"type":"string","enum":["a","b"]},"cmd":{"type":"array","items":{"type":"string"},"minItems":1}}})")
      .as_object();
}
}  // namespace

TEST(Schema, AcceptsValid) {
  EXPECT_EQ(mcp::validate(json::parse(R"({"name":"x","limit":3,"mode":"a","cmd":["ls"]})"), schema()), "");
}

TEST(Schema, NamesMissingRequired) {
  EXPECT_EQ(mcp::validate(json::parse(R"({})"), schema()), "missing required argument 'name'");
}

TEST(Schema, NamesUnknownArgument) {
  auto e = mcp::validate(json::parse(R"({"name":"x","nmae":"y"})"), schema());
  EXPECT_NE(e.find("unknown argument 'nmae'"), std::string::npos) << e;
}

TEST(Schema, NamesWrongType) {
  EXPECT_EQ(mcp::validate(json::parse(R"({"name":"x","limit":"3"})"), schema()),
            "argument 'limit' must be integer, got string");
  EXPECT_EQ(mcp::validate(json::parse(R"({"name":"x","limit":11})"), schema()), "argument 'limit' must be <= 10");
  EXPECT_NE(mcp::validate(json::parse(R"({"name":"x","mode":"c"})"), schema()).find("one of"), std::string::npos);
  EXPECT_EQ(mcp::validate(json::parse(R"({"name":"x","cmd":[1]})"), schema()),
            "argument 'cmd[0]' must be string, got integer");
}

// A JSON number with an integer value counts as an integer only within int64's range: the
// check converted it to long long first, undefined behaviour for 1e300 (UBSan:
// float-cast-overflow).
TEST(Schema, HugeNumbersAreNotIntegers) {
  json::object s{{"type", "integer"}};
  EXPECT_EQ(mcp::validate(json::parse("1e300"), s), "arguments must be integer, got number");
  EXPECT_EQ(mcp::validate(json::parse("-1e300"), s), "arguments must be integer, got number");
  EXPECT_EQ(mcp::validate(json::parse("9223372036854775808.0"), s), "arguments must be integer, got number");
  EXPECT_EQ(mcp::validate(json::parse("3.5"), s), "arguments must be integer, got number");
  EXPECT_EQ(mcp::validate(json::parse("3.0"), s), "");
  EXPECT_EQ(mcp::validate(json::parse("-9223372036854775808.0"), s), "");
  EXPECT_EQ(mcp::validate(json::parse("18446744073709551615"), s), "");  // a uint64 is an integer
}
