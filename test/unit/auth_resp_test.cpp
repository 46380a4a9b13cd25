// The RESP2 codec: encoding, and parsing of complete, partial, nested, hostile and oversized replies.
#include "auth/resp.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {
using mk::auth::resp::encode;
using mk::auth::resp::Limits;
using mk::auth::resp::parse;
using mk::auth::resp::Status;
using Type = mk::auth::resp::Value::Type;

TEST(AuthResp, EncodesArraysOfBulkStringsBinarySafe) {
  std::string out;
  encode(out, {"SET", "k", std::string_view("a\r\nb\0c", 6)});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\r\nb\0c\r\n", 32));
  encode(out, {"PING"});
  EXPECT_TRUE(out.ends_with("*1\r\n$4\r\nPING\r\n"));
  // What we encode, we parse back (requests are arrays of bulk strings too).
  auto p = parse(out, Limits{});
  ASSERT_EQ(p.status, Status::complete);
  ASSERT_EQ(p.value.elements.size(), 3u);
  EXPECT_EQ(p.value.elements[2].str, std::string("a\r\nb\0c", 6));
  EXPECT_EQ(p.consumed, 32u);
}

TEST(AuthResp, ParsesEveryType) {
  Limits lim;
  auto s = parse("+OK\r\n", lim);
  ASSERT_EQ(s.status, Status::complete);
  EXPECT_EQ(s.value.type, Type::simple);
  EXPECT_EQ(s.value.str, "OK");
  auto e = parse("-WRONGPASS invalid username-password pair\r\n", lim);
  ASSERT_EQ(e.status, Status::complete);
  EXPECT_TRUE(e.value.is_error());
  EXPECT_EQ(e.value.str, "WRONGPASS invalid username-password pair");
  auto i = parse(":-9223372036854775808\r\n", lim);
  ASSERT_EQ(i.status, Status::complete);
  EXPECT_EQ(i.value.integer, INT64_MIN);
  auto b = parse("$0\r\n\r\n", lim);
  ASSERT_EQ(b.status, Status::complete);
  EXPECT_EQ(b.value.type, Type::bulk);
  EXPECT_EQ(b.value.str, "");
  auto n = parse("$-1\r\n", lim);
  ASSERT_EQ(n.status, Status::complete);
  EXPECT_TRUE(n.value.is_null());
  auto na = parse("*-1\r\n", lim);
  ASSERT_EQ(na.status, Status::complete);
  EXPECT_TRUE(na.value.is_null());
  auto ea = parse("*0\r\n", lim);
  ASSERT_EQ(ea.status, Status::complete);
  EXPECT_EQ(ea.value.type, Type::array);
  EXPECT_TRUE(ea.value.elements.empty());
}

TEST(AuthResp, NestedArraysWithErrorsAndNulls) {
  // An EXEC-like reply: [1, [ "a", nil ], -ERR x]
  std::string wire = "*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n-ERR x\r\n+next\r\n";
  auto p = parse(wire, Limits{});
  ASSERT_EQ(p.status, Status::complete);
  ASSERT_EQ(p.value.elements.size(), 3u);
  EXPECT_EQ(p.value.elements[0].integer, 1);
  ASSERT_EQ(p.value.elements[1].elements.size(), 2u);
  EXPECT_EQ(p.value.elements[1].elements[0].str, "a");
  EXPECT_TRUE(p.value.elements[1].elements[1].is_null());
  EXPECT_TRUE(p.value.elements[2].is_error());
  // Only the first reply is consumed; the pipelined one after it stays.
  EXPECT_EQ(wire.substr(p.consumed), "+next\r\n");
}

TEST(AuthResp, EveryPrefixOfAReplyIsIncompleteNeverWrong) {
  std::string wire = "*4\r\n$5\r\nhello\r\n:42\r\n*1\r\n+OK\r\n$-1\r\n";
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto p = parse(std::string_view(wire).substr(0, n), Limits{});
    EXPECT_EQ(p.status, Status::incomplete) << "prefix " << n;
  }
  EXPECT_EQ(parse(wire, Limits{}).status, Status::complete);
}

TEST(AuthResp, PartialBulkTellsHowManyBytesItNeeds) {
  auto p = parse("$10\r\nabc", Limits{});
  ASSERT_EQ(p.status, Status::incomplete);
  EXPECT_EQ(p.need, 5u + 10u + 2u);
}

TEST(AuthResp, OversizeRepliesAreRefusedBeforeBuffering) {
  Limits lim;
  lim.max_bytes = 64;
  // A declared length past the cap is refused at once, though its bytes never came.
  EXPECT_EQ(parse("$100\r\n", lim).status, Status::too_large);
  EXPECT_EQ(parse("$9223372036854775807\r\n", lim).status, Status::too_large);
  // So is an array count that cannot fit, before any element is allocated.
  EXPECT_EQ(parse("*1000000000\r\n", lim).status, Status::too_large);
  // And a line that never ends.
  EXPECT_EQ(parse(std::string(64, '+'), lim).status, Status::too_large);
  // Many small elements adding up past the cap.
  std::string many = "*20\r\n";
  for (int i = 0; i < 20; ++i) many += ":1\r\n";
  EXPECT_EQ(parse(many, lim).status, Status::too_large);
  // Just under the cap is fine.
  std::string fits = "$55\r\n" + std::string(55, 'x') + "\r\n";  // 5 + 55 + 2 = 62 bytes
  EXPECT_EQ(parse(fits, lim).status, Status::complete);
}

TEST(AuthResp, GarbageIsMalformedWithAReason) {
  Limits lim;
  for (std::string g : {"HTTP/1.1 400 Bad Request\r\n", "\r\n", "?x\r\n", ":12a\r\n", ":\r\n", ":+5\r\n", "$-2\r\n",
                        "$abc\r\n", "*-5\r\n", "$3\r\nabcXY", "+OK\rX", "+O\nK\r\n", "_\r\n"}) {
    auto p = parse(g, lim);
    EXPECT_EQ(p.status, Status::malformed) << g;
    EXPECT_FALSE(p.error.empty()) << g;
  }
}

TEST(AuthResp, DeepNestingIsRefused) {
  Limits lim;
  lim.max_depth = 3;
  EXPECT_EQ(parse("*1\r\n*1\r\n*1\r\n:1\r\n", lim).status, Status::complete);
  auto p = parse("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", lim);
  EXPECT_EQ(p.status, Status::malformed);
  EXPECT_NE(p.error.find("nested"), std::string::npos);
}

}  // namespace
