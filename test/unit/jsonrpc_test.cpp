// JSON-RPC 2.0 framing helpers.
#include "mcp/jsonrpc.hpp"

#include <gtest/gtest.h>

using namespace mcp::jsonrpc;

TEST(JsonRpc, Response) {
  auto r = response(7, json::object{{"ok", true}});
  EXPECT_EQ(json::serialize(r), R"({"jsonrpc":"2.0","id":7,"result":{"ok":true}})");
}

TEST(JsonRpc, ErrorWithAndWithoutData) {
  EXPECT_EQ(json::serialize(error("a", method_not_found, "Method not found: x")),
            R"({"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"Method not found: x"}})");
  auto e = error(nullptr, invalid_params, "bad", json::object{{"field", "limit"}});
  EXPECT_TRUE(e.at("id").is_null());
  EXPECT_EQ(e.at("error").at("data").at("field").as_string(), "limit");
}

TEST(JsonRpc, Notification) {
  auto n = notification("notifications/progress", json::object{{"progress", 1}});
  EXPECT_FALSE(n.contains("id"));
  EXPECT_EQ(n.at("method").as_string(), "notifications/progress");
  EXPECT_EQ(n.at("params").at("progress").as_int64(), 1);
}

TEST(JsonRpc, ValidIds) {
  EXPECT_TRUE(valid_id(json::value(1)));
  EXPECT_TRUE(valid_id(json::value(std::uint64_t{18446744073709551615u})));
  EXPECT_TRUE(valid_id(json::value("req-1")));
  EXPECT_FALSE(valid_id(json::value(nullptr)));
  EXPECT_FALSE(valid_id(json::value(1.5)));
  EXPECT_FALSE(valid_id(json::value(true)));
  EXPECT_FALSE(valid_id(json::object{}));
  EXPECT_FALSE(valid_id(json::array{}));
}

TEST(JsonRpc, StandardCodes) {
  EXPECT_EQ(parse_error, -32700);
  EXPECT_EQ(invalid_request, -32600);
  EXPECT_EQ(method_not_found, -32601);
  EXPECT_EQ(invalid_params, -32602);
  EXPECT_EQ(internal_error, -32603);
}
