// 2026-07-28 HTTP header checks: Mcp-Method / Mcp-Name / MCP-Protocol-Version against the body.
#include "transport/http/modern_headers.hpp"

#include <gtest/gtest.h>

namespace json = boost::json;
using mk::transport::http::check_modern_headers;
using mk::transport::http::decode_header_value;
using mk::transport::http::Request;

namespace {
Request req(std::initializer_list<std::pair<const char*, const char*>> headers) {
  Request r;
  for (auto& [k, v] : headers) r.set(k, v);
  return r;
}
const json::object call_params{{"name", "k8s_get_resource"}};
}  // namespace

TEST(ModernHeaders, DecodesBase64Values) {
  EXPECT_EQ(decode_header_value("plain").value, "plain");
  auto d = decode_header_value("=?base64?w6l0w6k=?=");  // "été"
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.value, "\xc3\xa9t\xc3\xa9");
  EXPECT_FALSE(decode_header_value("=?base64?not base64!?=").ok);
}

TEST(ModernHeaders, AgreeingHeadersPass) {
  auto r =
      req({{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "k8s_get_resource"}});
  EXPECT_EQ(check_modern_headers(r, "tools/call", call_params, "2026-07-28"), "");
  auto enc = req({{"MCP-Protocol-Version", "2026-07-28"},
                  {"Mcp-Method", "tools/call"},
                  {"Mcp-Name", "=?base64?azhzX2dldF9yZXNvdXJjZQ==?="}});
  EXPECT_EQ(check_modern_headers(enc, "tools/call", call_params, "2026-07-28"), "");
  auto list = req({{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/list"}});
  EXPECT_EQ(check_modern_headers(list, "tools/list", {}, "2026-07-28"), "") << "no Mcp-Name for lists";
}

TEST(ModernHeaders, EachMismatchIsNamed) {
  auto v =
      req({{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "k8s_get_resource"}});
  EXPECT_NE(check_modern_headers(v, "tools/call", call_params, "2099-01-01").find("MCP-Protocol-Version"),
            std::string::npos);
  auto m =
      req({{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/list"}, {"Mcp-Name", "k8s_get_resource"}});
  EXPECT_NE(check_modern_headers(m, "tools/call", call_params, "2026-07-28").find("Mcp-Method"), std::string::npos);
  auto n = req({{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "k8s_delete"}});
  EXPECT_NE(check_modern_headers(n, "tools/call", call_params, "2026-07-28").find("Mcp-Name"), std::string::npos);
  auto none = req({{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}});
  EXPECT_NE(check_modern_headers(none, "tools/call", call_params, "2026-07-28").find("required"), std::string::npos);
  auto missing_version = req({{"Mcp-Method", "tools/call"}});
  EXPECT_NE(check_modern_headers(missing_version, "tools/call", call_params, "2026-07-28").find("required"),
            std::string::npos);
}
