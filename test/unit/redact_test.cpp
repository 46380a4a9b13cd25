// Secret values never leave the server: single Secrets, SecretLists (items without kind),
// Lists mixing kinds, the last-applied annotation; other objects are untouched. Slimming
// drops managedFields and the last-applied copy.
#include "output/redact.hpp"
#include "output/slim.hpp"

#include <gtest/gtest.h>

using namespace mk::output;
namespace json = boost::json;

namespace {
const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

json::value secret() {
  return json::parse(R"({"apiVersion":"v1","kind":"Secret","type":"Opaque",
    "metadata":{"name":"db","namespace":"x","labels":{"app":"db"},
      "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                     "team":"payments"}},
    "data":{"password":"aHVudGVyMg==","user":"YWRtaW4="},"stringData":{"token":"plain"}})");
}
}  // namespace

TEST(Redact, Secret) {
  auto v = secret();
  redact_secrets(v);
  auto& o = v.as_object();
  EXPECT_EQ(o.at("data").at("password").as_string(), kRedacted);
  EXPECT_EQ(o.at("data").at("user").as_string(), kRedacted);
  EXPECT_EQ(o.at("stringData").at("token").as_string(), kRedacted);
  auto& an = o.at("metadata").at("annotations").as_object();
  EXPECT_EQ(an.at(kLastApplied).as_string(), kRedacted);
  EXPECT_EQ(an.at("team").as_string(), "payments");  // other metadata stays
  EXPECT_EQ(o.at("type").as_string(), "Opaque");
  EXPECT_EQ(json::serialize(v).find("aHVudGVyMg"), std::string::npos);
}

TEST(Redact, SecretListItemsWithoutKind) {
  auto item = secret();
  item.as_object().erase("kind");
  item.as_object().erase("apiVersion");
  json::value list = json::object{{"kind", "SecretList"}, {"apiVersion", "v1"}, {"items", json::array{item, item}}};
  redact_secrets(list);
  auto s = json::serialize(list);
  EXPECT_EQ(s.find("aHVudGVyMg"), std::string::npos) << s;  // data and the last-applied copy
  EXPECT_EQ(s.find("plain"), std::string::npos) << s;
  EXPECT_EQ(list.at("items").at(1).at("data").at("user").as_string(), kRedacted);
}

TEST(Redact, MixedListAndArrays) {
  json::value cm = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},
      "data":{"password":"visible-by-design"}})");
  json::value list = json::object{{"kind", "List"}, {"items", json::array{cm, secret()}}};
  redact_secrets(list);
  EXPECT_EQ(list.at("items").at(0).at("data").at("password").as_string(), "visible-by-design");
  EXPECT_EQ(list.at("items").at(1).at("data").at("password").as_string(), kRedacted);
  json::value arr = json::array{secret(), cm};
  redact_secrets(arr);
  EXPECT_EQ(arr.at(0).at("data").at("user").as_string(), kRedacted);
}

TEST(Redact, NonSecretsUntouched) {
  for (
      const char* doc :
      {R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},"data":{"k":"v"}})",
       // Same kind name in another group is not a core Secret.
       R"({"apiVersion":"example.com/v1","kind":"Secret","data":{"k":"v"}})",
       R"({"kind":"Pod","spec":{"containers":[{"env":[{"name":"X","value":"v"}]}]}})"}) {
    auto v = json::parse(doc);
    auto before = json::serialize(v);
    redact_secrets(v);
    EXPECT_EQ(json::serialize(v), before);
  }
  json::value scalar = 5;
  redact_secrets(scalar);
  EXPECT_EQ(scalar.as_int64(), 5);
}

TEST(Redact, IsSecret) {
  EXPECT_TRUE(is_secret(secret().as_object()));
  EXPECT_TRUE(is_secret(json::parse(R"({"kind":"Secret"})").as_object()));
  EXPECT_FALSE(is_secret(json::parse(R"({"kind":"Secret","apiVersion":"x/v1"})").as_object()));
  EXPECT_FALSE(is_secret(json::parse(R"({"kind":"SecretList"})").as_object()));
}

TEST(Slim, DropsManagedFieldsAndLastApplied) {
  auto v = json::parse(R"({"kind":"ConfigMap","metadata":{"name":"c","selfLink":"/x",
      "managedFields":[{"manager":"kubectl"}],
      "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"},"labels":{"a":"b"}},"data":{"k":"v"}})");
  slim_object(v.as_object());
  auto& md = v.at("metadata").as_object();
  EXPECT_FALSE(md.contains("managedFields"));
  EXPECT_FALSE(md.contains("selfLink"));
  EXPECT_FALSE(md.contains("annotations")) << "an annotations map left empty is dropped";
  EXPECT_EQ(md.at("labels").at("a").as_string(), "b");
  EXPECT_EQ(v.at("data").at("k").as_string(), "v");

  auto keep = json::parse(R"({"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}",
      "owner":"me"}}})");
  slim_object(keep.as_object());
  EXPECT_EQ(keep.at("metadata").at("annotations").as_object().size(), 1u);
  auto nometa = json::parse(R"({"kind":"X"})");
  slim_object(nometa.as_object());  // nothing to do, no crash
}
