// Federation flags: group mappings are validated (a mapping must never grant a privileged system
// group), Go durations parse as the original's flags did.
#include "federation/settings.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace mk::federation;
using namespace std::chrono_literals;

namespace {
std::string refused(const std::string& text) {
  try {
    parse_group_mappings(text);
  } catch (const mk::Error& e) {
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST(FederationSettings, GroupMappings) {
  auto m = parse_group_mappings(R"({"idp-admins":"ops","idp-viewers":"view"})");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(map_groups(m, {"idp-viewers", "other", "idp-admins", "other"}),
            (std::vector<std::string>{"ops", "other", "view"}));
  // An identity provider's group named like the API server's own is never impersonated: only an
  // operator's mapping (to a non-privileged target) may produce a system: group.
  auto sys = parse_group_mappings(R"({"idp-all":"system:authenticated"})");
  EXPECT_EQ(map_groups(sys, {"system:masters", "system:nodes", "idp-all", "dev"}),
            (std::vector<std::string>{"dev", "system:authenticated"}));
  EXPECT_TRUE(parse_group_mappings("").empty());
  EXPECT_TRUE(parse_group_mappings("{}").empty());
}

TEST(FederationSettings, GroupMappingsRefusals) {
  EXPECT_NE(refused("[1]").find("JSON object"), std::string::npos);
  EXPECT_NE(refused("{not json").find("JSON object"), std::string::npos);
  EXPECT_NE(refused(R"({"a":1})").find("string"), std::string::npos);
  EXPECT_NE(refused(R"({"a":"system:masters"})").find("privileged"), std::string::npos);
  EXPECT_NE(refused(R"({"a":"system:nodes"})").find("privileged"), std::string::npos);
  EXPECT_NE(refused(R"({"a":"system:kube-controller-manager"})").find("privileged"), std::string::npos);
  EXPECT_EQ(refused(R"({"a":"system:authenticated"})"), "accepted");
  EXPECT_NE(refused(R"({"":"x"})").find("1..256"), std::string::npos);
  std::string many = "{";
  for (int i = 0; i < 101; ++i) many += (i ? "," : "") + std::string("\"g") + std::to_string(i) + "\":\"x\"";
  many += "}";
  EXPECT_NE(refused(many).find("at most 100"), std::string::npos);
}

TEST(FederationSettings, GoDurations) {
  EXPECT_EQ(parse_duration("10m"), 600000ms);
  EXPECT_EQ(parse_duration("30s"), 30000ms);
  EXPECT_EQ(parse_duration("1h30m"), 5400000ms);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("1.5h"), 5400000ms);
  EXPECT_EQ(parse_duration("0"), 0ms);
  for (const char* bad : {"", "10", "-5s", "5x", "s", "1..5s", "ten minutes"}) EXPECT_FALSE(parse_duration(bad)) << bad;
}
