// Where a port-forward may listen: loopback unless the operator allows an address; IP literals
// and `localhost` only (nothing is resolved); local ports 0 or 1024-65535.
#include "tools/pods/forward_address.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace mk;
using namespace mk::tools;

namespace {
Errc code_of(std::function<void()> f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::internal;  // "did not throw": no test expects internal
}
std::string checked(std::string_view a, const std::vector<std::string>& allowed = {}) {
  return checked_forward_address(a, parse_allowed_addresses(allowed)).to_string();
}
}  // namespace

TEST(ForwardAddress, ParsesLiteralsAndLocalhostOnly) {
  EXPECT_EQ(parse_forward_address("127.0.0.1")->to_string(), "127.0.0.1");
  EXPECT_EQ(parse_forward_address("localhost")->to_string(), "127.0.0.1");
  EXPECT_EQ(parse_forward_address("::1")->to_string(), "::1");
  EXPECT_EQ(parse_forward_address("[::1]")->to_string(), "::1");
  EXPECT_EQ(parse_forward_address("::ffff:127.0.0.1")->to_string(), "127.0.0.1");
  EXPECT_EQ(parse_forward_address("10.0.0.5")->to_string(), "10.0.0.5");
  for (auto bad : {"", "localhost:1", "LOCALHOST", "localhost.", "127.0.0.1.nip.io", "example.com", "127.1",
                   "0x7f.0.0.1", "0127.0.0.1", "127.0.0.1 ", " 127.0.0.1", "127.0.0.1:80", "[127.0.0.1]", "[::1",
                   "fe80::1%lo", "::1%1", "1.2.3.4/8", "256.0.0.1"})
    EXPECT_FALSE(parse_forward_address(bad)) << bad;
}

TEST(ForwardAddress, LoopbackAlwaysAllowed) {
  EXPECT_EQ(checked("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(checked("127.0.0.2"), "127.0.0.2");
  EXPECT_EQ(checked("localhost"), "127.0.0.1");
  EXPECT_EQ(checked("::1"), "::1");
  EXPECT_EQ(checked("::ffff:127.0.0.1"), "127.0.0.1");
}

TEST(ForwardAddress, OthersRefusedUnlessTheOperatorListsThem) {
  for (auto a : {"0.0.0.0", "::", "10.0.0.5", "::ffff:10.0.0.5", "fe80::1", "169.254.169.254"})
    EXPECT_EQ(code_of([&] { checked(a); }), Errc::policy_denied) << a;
  try {
    checked("0.0.0.0");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--port-forward-allowed-addresses"), std::string::npos) << e.what();
  }
  EXPECT_EQ(checked("0.0.0.0", {"0.0.0.0"}), "0.0.0.0");
  EXPECT_EQ(checked("10.0.0.5", {"0.0.0.0", "10.0.0.5"}), "10.0.0.5");
  EXPECT_EQ(checked("::ffff:10.0.0.5", {"10.0.0.5"}), "10.0.0.5");
  // 0.0.0.0 allows itself, not every address; :: is not 0.0.0.0.
  EXPECT_EQ(code_of([&] { checked("10.0.0.6", {"0.0.0.0"}); }), Errc::policy_denied);
  EXPECT_EQ(code_of([&] { checked("::", {"0.0.0.0"}); }), Errc::policy_denied);
  EXPECT_EQ(code_of([&] { checked("example.com", {"0.0.0.0"}); }), Errc::invalid_argument);
}

TEST(ForwardAddress, OperatorListTakesIpLiteralsOnly) {
  for (auto bad : {"localhost", "example.com", "10.0.0.0/8", "*", "any", "fe80::1%eth0"})
    EXPECT_EQ(code_of([&] { parse_allowed_addresses({bad}); }), Errc::invalid_argument) << bad;
  EXPECT_EQ(parse_allowed_addresses({"0.0.0.0", "[::]"}).size(), 2u);
}

TEST(ForwardAddress, LocalPortRange) {
  for (std::int64_t ok : {0, 1024, 8080, 65535}) EXPECT_NO_THROW(check_forward_local_port(ok)) << ok;
  for (std::int64_t bad : {-1, 1, 22, 80, 443, 1023, 65536, 1 << 20})
    EXPECT_EQ(code_of([&] { check_forward_local_port(bad); }), Errc::invalid_argument) << bad;
}
