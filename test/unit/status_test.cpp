// metav1.Status responses -> mk::Error with kubectl-like messages and the right category.
#include "k8s/status_error.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace mk::k8s;

namespace {

mk::Error thrown(unsigned status, std::string body, std::string_view what = {}) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  try {
    throw_status(r, what);
  } catch (const mk::Error& e) {
    return e;
  }
  ADD_FAILURE() << "throw_status returned";
  return mk::Error(mk::Errc::internal, "");
}

std::string status_json(int code, const char* reason, const char* message, const char* details = "{}") {
  return std::string(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")") + message +
         R"(","reason":")" + reason + R"(","details":)" + details + R"(,"code":)" + std::to_string(code) + "}";
}

}  // namespace

TEST(Status, NotFound) {
  auto e =
      thrown(404, status_json(404, "NotFound", R"(pods \"web-0\" not found)", R"({"name":"web-0","kind":"pods"})"));
  EXPECT_EQ(e.code(), mk::Errc::not_found);
  EXPECT_STREQ(e.what(), "pods \"web-0\" not found");
  EXPECT_EQ(e.details().at("status").to_number<int>(), 404);
  EXPECT_EQ(e.details().at("reason").as_string(), "NotFound");
}

TEST(Status, ForbiddenKeepsVerbAndResource) {
  auto e = thrown(403, status_json(403, "Forbidden",
                                   R"(secrets is forbidden: User \"viewer\" cannot list resource \"secrets\" )"
                                   R"(in API group \"\" in the namespace \"default\")"));
  EXPECT_EQ(e.code(), mk::Errc::forbidden);
  std::string m = e.what();
  EXPECT_NE(m.find("cannot list resource \"secrets\""), std::string::npos) << m;
  EXPECT_NE(m.find("User \"viewer\""), std::string::npos) << m;
}

TEST(Status, AlreadyExistsVersusConflict) {
  auto exists = thrown(409, status_json(409, "AlreadyExists", R"(configmaps \"x\" already exists)"));
  EXPECT_EQ(exists.code(), mk::Errc::already_exists);
  auto conflict = thrown(409, status_json(409, "Conflict",
                                          R"(Operation cannot be fulfilled on configmaps \"x\": the object has )"
                                          R"(been modified; please apply your changes to the latest version)"));
  EXPECT_EQ(conflict.code(), mk::Errc::conflict);
  EXPECT_NE(std::string(conflict.what()).find("has been modified"), std::string::npos);
}

TEST(Status, InvalidKeepsFieldCauses) {
  auto e = thrown(422, status_json(422, "Invalid", R"(Deployment.apps \"web\" is invalid)",
                                   R"({"name":"web","group":"apps","kind":"Deployment","causes":[
      {"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0",
       "field":"spec.replicas"},
      {"reason":"FieldValueRequired","message":"Required value","field":"spec.selector"},
      {"reason":"Odd","message":42,"field":null}]})"));
  EXPECT_EQ(e.code(), mk::Errc::invalid);
  std::string m = e.what();
  EXPECT_NE(m.find("Deployment.apps \"web\" is invalid"), std::string::npos) << m;
  EXPECT_NE(m.find("spec.replicas: Invalid value: -1: must be greater than or equal to 0"), std::string::npos) << m;
  EXPECT_NE(m.find("spec.selector: Required value"), std::string::npos) << m;
  auto& causes = e.details().at("causes").as_array();
  ASSERT_EQ(causes.size(), 3u);
  EXPECT_EQ(causes[0].at("field").as_string(), "spec.replicas");
}

TEST(Status, InvalidDoesNotRepeatCausesAlreadyInTheMessage) {
  auto e = thrown(422, status_json(422, "Invalid",
                                   R"(ConfigMap \"x\" is invalid: metadata.name: Invalid value: \"X\": a lowercase )"
                                   R"(RFC 1123 subdomain)",
                                   R"({"causes":[{"reason":"FieldValueInvalid","field":"metadata.name",)"
                                   R"("message":"Invalid value: \"X\": a lowercase RFC 1123 subdomain"}]})"));
  std::string m = e.what();
  EXPECT_EQ(m.find("; metadata.name"), std::string::npos) << m;
}

TEST(Status, GoneMeansExpiredContinueToken) {
  auto e = thrown(410, status_json(410, "Expired",
                                   "The provided continue parameter is too old to display a consistent list result."));
  EXPECT_EQ(e.code(), mk::Errc::invalid_argument);
  std::string m = e.what();
  EXPECT_NE(m.find("continue token has expired"), std::string::npos) << m;
  EXPECT_NE(m.find("without 'continue'"), std::string::npos) << m;
  EXPECT_NE(m.find("too old"), std::string::npos) << "keeps the server's words: " << m;
}

TEST(Status, OtherCodes) {
  EXPECT_EQ(thrown(400, status_json(400, "BadRequest", "bad")).code(), mk::Errc::invalid_argument);
  auto unauth = thrown(401, status_json(401, "Unauthorized", "Unauthorized"));
  EXPECT_EQ(unauth.code(), mk::Errc::unauthorized);
  EXPECT_NE(std::string(unauth.what()).find("credentials"), std::string::npos);
  EXPECT_EQ(thrown(413, "").code(), mk::Errc::too_large);
  EXPECT_EQ(thrown(429, status_json(429, "TooManyRequests", "slow down")).code(), mk::Errc::unavailable);
  EXPECT_EQ(thrown(500, status_json(500, "InternalError", "boom")).code(), mk::Errc::unavailable);
  EXPECT_EQ(thrown(503, "").code(), mk::Errc::unavailable);
  EXPECT_EQ(thrown(504, status_json(504, "Timeout", "slow")).code(), mk::Errc::timeout);
}

TEST(Status, NonStatusBodies) {
  auto html = thrown(502, "<html>bad gateway</html>");
  EXPECT_EQ(html.code(), mk::Errc::unavailable);
  EXPECT_STREQ(html.what(), "HTTP 502: <html>bad gateway</html>");
  auto empty = thrown(404, "", "get pods/x");
  EXPECT_EQ(empty.code(), mk::Errc::not_found);
  EXPECT_STREQ(empty.what(), "get pods/x: HTTP 404");
  auto huge = thrown(500, std::string(10000, 'x'));
  EXPECT_LT(std::string(huge.what()).size(), 400u) << "bodies are truncated";
}
