// YAML/JSON manifest -> JSON objects: scalar typing, documents, Lists, and the caps.
#include "util/error.hpp"
#include "util/yaml.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {
namespace json = boost::json;
using mk::yaml::parse_manifest;
using mk::yaml::resolve_plain_scalar;
using mk::yaml::yaml_to_json;

json::value one(const std::string& yaml) {
  auto docs = yaml_to_json(yaml);
  EXPECT_EQ(docs.size(), 1u);
  return docs.empty() ? json::value() : docs.front();
}

mk::Errc code_of(const std::string& yaml, mk::yaml::ManifestLimits lim = {}) {
  try {
    parse_manifest(yaml, lim);
  } catch (const mk::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error for: " << yaml.substr(0, 80);
  return mk::Errc::internal;
}

TEST(PlainScalar, CoreSchemaTypes) {
  EXPECT_TRUE(resolve_plain_scalar("").is_null());
  EXPECT_TRUE(resolve_plain_scalar("~").is_null());
  EXPECT_TRUE(resolve_plain_scalar("NULL").is_null());
  EXPECT_EQ(resolve_plain_scalar("true"), json::value(true));
  EXPECT_EQ(resolve_plain_scalar("False"), json::value(false));
  EXPECT_EQ(resolve_plain_scalar("42"), json::value(42));
  EXPECT_EQ(resolve_plain_scalar("-7"), json::value(-7));
  EXPECT_EQ(resolve_plain_scalar("+3"), json::value(3));
  EXPECT_EQ(resolve_plain_scalar("0"), json::value(0));
  EXPECT_EQ(resolve_plain_scalar("0x1F"), json::value(31));
  EXPECT_EQ(resolve_plain_scalar("0o17"), json::value(15));
  EXPECT_EQ(resolve_plain_scalar("1.5"), json::value(1.5));
  EXPECT_EQ(resolve_plain_scalar("1e3"), json::value(1000.0));
  EXPECT_EQ(resolve_plain_scalar(".5"), json::value(0.5));
  EXPECT_EQ(resolve_plain_scalar("9223372036854775807"), json::value(INT64_MAX));
  EXPECT_TRUE(resolve_plain_scalar("18446744073709551615").is_uint64());
}

TEST(PlainScalar, YamlOneOneWordsStayStrings) {
  for (const char* s : {"yes",   "no",    "on", "off", "y", "n",  "Yes", "NO", "2001-12-14", "1_000",
                        "0b101", "1.2.3", "v1", "-",   ".", "e3", "1e",  "0x", "infinity",   "nan"})
    EXPECT_EQ(resolve_plain_scalar(s), json::value(json::string(s))) << s;
}

TEST(PlainScalar, LeadingZeroIsOctalLikeKubectl) {
  EXPECT_EQ(resolve_plain_scalar("0644"), json::value(420));
  EXPECT_EQ(resolve_plain_scalar("0123"), json::value(83));
  EXPECT_EQ(resolve_plain_scalar("0128"), json::value("0128"));  // not octal: kept as written
  EXPECT_EQ(resolve_plain_scalar("09"), json::value("09"));
}

TEST(PlainScalar, InfinityAndNanAreRejected) {
  for (const char* s : {".inf", "-.Inf", ".NaN", "1e999"}) {
    EXPECT_THROW(resolve_plain_scalar(s), mk::Error) << s;
  }
}

TEST(YamlToJson, QuotedAndBlockScalarsStayStrings) {
  auto v = one("a: \"0123\"\nb: 'yes'\nc: \"true\"\nd: |\n  42\ne: \"\"\nf: '~'\ng: >-\n  null\n");
  auto& o = v.as_object();
  EXPECT_EQ(o.at("a"), json::value("0123"));
  EXPECT_EQ(o.at("b"), json::value("yes"));
  EXPECT_EQ(o.at("c"), json::value("true"));
  EXPECT_EQ(o.at("d"), json::value("42\n"));
  EXPECT_EQ(o.at("e"), json::value(""));
  EXPECT_EQ(o.at("f"), json::value("~"));
  EXPECT_EQ(o.at("g"), json::value("null"));
}

TEST(YamlToJson, PlainValuesAreTyped) {
  auto v = one("replicas: 3\nenabled: true\nmode: 0644\nratio: 0.25\nempty:\ntilde: ~\nname: web\nanswer: yes\n");
  EXPECT_EQ(
      json::serialize(v),
      R"({"replicas":3,"enabled":true,"mode":420,"ratio":2.5E-1,"empty":null,"tilde":null,"name":"web","answer":"yes"})");
}

TEST(YamlToJson, ExplicitTags) {
  auto v = one("a: !!str 123\nb: !!int \"7\"\nc: !!float 1\nd: !!bool \"true\"\ne: !!null ''\n");
  auto& o = v.as_object();
  EXPECT_EQ(o.at("a"), json::value("123"));
  EXPECT_EQ(o.at("b"), json::value(7));
  EXPECT_EQ(o.at("c"), json::value(1.0));
  EXPECT_EQ(o.at("d"), json::value(true));
  EXPECT_TRUE(o.at("e").is_null());
  EXPECT_EQ(code_of("a: !!int abc\n"), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of("a: !custom x\n"), mk::Errc::invalid_argument);
}

TEST(YamlToJson, KeysAreTextAsWritten) {
  auto v = one("1: a\ntrue: b\n0644: c\nnull_key: d\n");
  auto& o = v.as_object();
  EXPECT_TRUE(o.contains("1"));
  EXPECT_TRUE(o.contains("true"));
  EXPECT_TRUE(o.contains("0644"));
}

TEST(YamlToJson, NestedStructuresAndFlowStyle) {
  auto v = one("spec:\n  ports: [{port: 80, name: http}, {port: 443}]\n  labels: {app: web}\n  list:\n  - 1\n  - x\n");
  EXPECT_EQ(json::serialize(v),
            R"({"spec":{"ports":[{"port":80,"name":"http"},{"port":443}],"labels":{"app":"web"},"list":[1,"x"]}})");
}

TEST(YamlToJson, JsonInputKeepsNumbersExactly) {
  auto docs = yaml_to_json(R"({"a": 1.0, "b": 12345678901234567890, "c": "0123"})");
  ASSERT_EQ(docs.size(), 1u);
  auto& o = docs[0].as_object();
  EXPECT_TRUE(o.at("a").is_double());
  EXPECT_TRUE(o.at("b").is_uint64());
  EXPECT_EQ(o.at("c"), json::value("0123"));
}

TEST(YamlToJson, AnchorsAliasesAndMergeKeys) {
  auto v = one("base: &b {cpu: 1, mem: 2}\nx: *b\ny:\n  <<: *b\n  cpu: 5\n");
  EXPECT_EQ(json::serialize(v.as_object().at("x")), R"({"cpu":1,"mem":2})");
  auto& y = v.as_object().at("y").as_object();
  EXPECT_EQ(y.at("cpu"), json::value(5));  // explicit keys win over merged ones
  EXPECT_EQ(y.at("mem"), json::value(2));
}

TEST(YamlToJson, DuplicateAndComplexKeysAreErrors) {
  EXPECT_EQ(code_of("a: 1\na: 2\n"), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of("? [a, b]\n: 1\n"), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of("~: 1\n"), mk::Errc::invalid_argument);
}

TEST(YamlToJson, SyntaxErrorNamesTheLine) {
  try {
    parse_manifest("a: 1\nb: [unclosed\n");
    FAIL() << "expected an error";
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("line"), std::string::npos) << e.what();
  }
}

TEST(ParseManifest, MultiDocumentSkipsEmptyDocuments) {
  auto objs = parse_manifest("---\n# only a comment\n---\nkind: A\n---\n---\nkind: B\n...\n");
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(objs[0].at("kind"), json::value("A"));
  EXPECT_EQ(objs[1].at("kind"), json::value("B"));
}

TEST(ParseManifest, ListKindsAndTopLevelArraysExpand) {
  auto objs = parse_manifest("apiVersion: v1\nkind: List\nitems:\n- kind: A\n- kind: B\n---\nkind: C\n");
  ASSERT_EQ(objs.size(), 3u);
  EXPECT_EQ(objs[2].at("kind"), json::value("C"));
  auto arr = parse_manifest(R"([{"kind":"X"},{"kind":"Y"}])");
  ASSERT_EQ(arr.size(), 2u);
}

TEST(ParseManifest, NonObjectsAndEmptyInputAreErrors) {
  EXPECT_EQ(code_of("just a string\n"), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of("kind: List\nitems: [1]\n"), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of(""), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of("---\n---\n"), mk::Errc::invalid_argument);
}

TEST(ParseManifest, Caps) {
  mk::yaml::ManifestLimits lim;
  lim.max_bytes = 16;
  EXPECT_EQ(code_of("kind: ConfigMap\nmetadata: {}\n", lim), mk::Errc::too_large);

  mk::yaml::ManifestLimits two;
  two.max_objects = 2;
  EXPECT_EQ(code_of("kind: A\n---\nkind: B\n---\nkind: C\n", two), mk::Errc::too_large);

  std::string deep = "a: " + std::string(300, '[') + std::string(300, ']') + "\n";
  EXPECT_EQ(code_of(deep), mk::Errc::too_large);
  std::string deep_json = "{\"a\":" + std::string(300, '[') + std::string(300, ']') + "}";
  EXPECT_THROW(parse_manifest(deep_json), mk::Error);
}

TEST(ParseManifest, BillionLaughsHitsTheNodeCap) {
  std::string y = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    y += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) y += std::string(i ? ", *" : "*") + prev;
    y += "]\n";
    prev = c;
  }
  EXPECT_EQ(code_of(y), mk::Errc::too_large);
}

TEST(ParseManifest, AliasedBigStringHitsTheByteCap) {
  mk::yaml::ManifestLimits lim;
  lim.max_value_bytes = 1000;
  std::string y = "a: &s " + std::string(200, 'x') + "\nb: [*s, *s, *s, *s, *s, *s]\n";
  EXPECT_EQ(code_of(y, lim), mk::Errc::too_large);
}

// Keys are strings too: an alias used as a key, or an aliased mapping with long keys, copies
// them as often as the input says.
TEST(ParseManifest, AliasedKeysHitTheByteCap) {
  mk::yaml::ManifestLimits lim;
  lim.max_value_bytes = 5000;
  std::string key(200, 'k');
  std::string as_key = "kind: A\na: &k " + key + "\nb:\n";
  for (int i = 0; i < 50; ++i) as_key += "- {*k : 1}\n";
  EXPECT_EQ(code_of(as_key, lim), mk::Errc::too_large);
  std::string in_map = "kind: A\na: &m {" + key + ": 1}\nb: [*m";
  for (int i = 0; i < 50; ++i) in_map += ", *m";
  EXPECT_EQ(code_of(in_map + "]\n", lim), mk::Errc::too_large);
}

// Every anchor keeps a copy of its value: nested anchors around a big list copy it once per
// level, which must count against the node cap like alias copies do.
TEST(ParseManifest, NestedAnchorsHitTheNodeCap) {
  mk::yaml::ManifestLimits lim;
  lim.max_nodes = 5000;
  std::string y = "kind: A\nitems: ";
  for (int i = 0; i < 20; ++i) y += "&a" + std::to_string(i) + " [";
  for (int i = 0; i < 1000; ++i) y += i ? ",x" : "x";
  y += std::string(20, ']') + "\n";
  EXPECT_EQ(code_of(y, lim), mk::Errc::too_large);
}

}  // namespace

TEST(YamlToJson, StringScalarsModeKeepsTextAsWritten) {
  auto docs = yaml_to_json("token: 0123\nflag: true\nn: 12\nratio: 1.50\nempty:\ntilde: ~\nq: \"x\"\n", {},
                           mk::yaml::YamlScalars::strings);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(json::serialize(docs[0]),
            R"({"token":"0123","flag":"true","n":"12","ratio":"1.50","empty":null,"tilde":null,"q":"x"})");
}

TEST(YamlToJson, RedefinedAnchorUsesTheLatestAndUnknownAliasNamesIt) {
  auto v = one("a: &x 1\nb: &x 2\nc: *x\n");
  EXPECT_EQ(v.as_object().at("c"), json::value(2));
  try {
    yaml_to_json("a: *missing\n");
    FAIL() << "expected an error";
  } catch (const mk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(YamlToJson, ErrorsNameTheSubject) {
  mk::yaml::ManifestLimits lim;
  lim.subject = "kubeconfig";
  try {
    yaml_to_json("a: [1,\n", lim);
    FAIL() << "expected an error";
  } catch (const mk::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("the kubeconfig is not valid YAML: line ", 0), 0u) << e.what();
  }
}
