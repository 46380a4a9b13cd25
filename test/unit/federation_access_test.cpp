// Who may see which Cluster objects: the SubjectAccessReview asked (body, answer), the bounded
// decision cache, and the checker's order (list everywhere, per namespace, then per-object get) with a
// fake review standing in for the management cluster; failed reviews fail closed. Also the
// email_verified claim: read from the ID token, kept in the grant, refused for impersonation.
#include "auth/provider.hpp"
#include "auth/records.hpp"
#include "federation/access.hpp"
#include "federation/federation.hpp"
#include "util/error.hpp"

#include "auth_test_util.hpp"
#include "code_of.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <set>

using namespace mk::federation;
namespace json = boost::json;
using mk::Errc;

namespace {

mk::Identity alice(std::vector<std::string> groups = {"dev"}) {
  return {.subject = "sub-a",
          .email = "alice@example.com",
          .groups = std::move(groups),
          .upstream_token = "",
          .email_verified = true};
}

ClusterInfo cluster(std::string ns, std::string name) {
  ClusterInfo c;
  c.ns = std::move(ns);
  c.name = std::move(name);
  return c;
}

// The management cluster's RBAC, as the fake review answers it: the set of
// "verb ns name" lines allowed for alice ("list ns " for a namespace-wide list).
struct FakeMc {
  std::set<std::string> allow;
  std::vector<json::object> asked;
  std::function<void()> fail;  // throws instead of answering, when set
  AccessChecker::Review review() {
    return [this](json::object body) -> boost::asio::awaitable<json::value> {
      asked.push_back(body);
      if (fail) fail();
      auto& ra = body.at("spec").at("resourceAttributes").as_object();
      auto name = ra.contains("name") ? std::string(ra.at("name").as_string()) : std::string();
      auto line =
          std::string(ra.at("verb").as_string()) + " " + std::string(ra.at("namespace").as_string()) + " " + name;
      bool ok = allow.contains(line);
      co_return json::value{{"apiVersion", "authorization.k8s.io/v1"},
                            {"kind", "SubjectAccessReview"},
                            {"status", json::object{{"allowed", ok}}}};
    };
  }
};

std::vector<std::string> names(const std::vector<ClusterInfo>& v) {
  std::vector<std::string> out;
  for (auto& c : v) out.push_back(c.ns + "/" + c.name);
  return out;
}

}  // namespace

TEST(FederationAccess, SubjectIsTheImpersonatedUserWithProviderGroupsAndAuthenticated) {
  auto s = access_subject(alice({"ops", "dev", "system:masters", "dev"}));
  EXPECT_EQ(s.user, "alice@example.com");
  // A provider's group named system:* would be the API server's own: never asked about.
  EXPECT_EQ(s.groups, (std::vector<std::string>{"dev", "ops", "system:authenticated"}));
  auto absent = alice();
  absent.email_verified = std::nullopt;  // Dex and Google send it; a provider that does not is trusted
  EXPECT_EQ(access_subject(absent).user, "alice@example.com");
}

TEST(FederationAccess, NoUsableUserIsUnauthorized) {
  auto unverified = alice();
  unverified.email_verified = false;
  std::string what;
  EXPECT_EQ(code_of([&] { access_subject(unverified); }, &what), Errc::unauthorized);
  EXPECT_NE(what.find("email_verified: false"), std::string::npos) << what;
  auto none = alice();
  none.email.clear();
  EXPECT_EQ(code_of([&] { access_subject(none); }), Errc::unauthorized);
  auto crlf = alice();
  crlf.email = "a@example.com\r\nx";
  EXPECT_EQ(code_of([&] { access_subject(crlf); }), Errc::unauthorized);
  auto bad_group = alice({std::string(300, 'g')});
  EXPECT_EQ(code_of([&] { access_subject(bad_group); }), Errc::unauthorized);
}

TEST(FederationAccess, ReviewBody) {
  auto s = access_subject(alice());
  auto get = review_body(s, {"get", "org-acme", "wc1"});
  EXPECT_EQ(
      json::serialize(get),
      R"({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"alice@example.com",)"
      R"("groups":["dev","system:authenticated"],"resourceAttributes":{"group":"cluster.x-k8s.io",)"
      R"("resource":"clusters","verb":"get","namespace":"org-acme","name":"wc1"}}})");
  auto list = review_body(s, {"list", "org-acme", ""});
  EXPECT_FALSE(list.at("spec").at("resourceAttributes").as_object().contains("name"));
  EXPECT_EQ(describe(s, {"get", "org-acme", "wc1"}),
            "get clusters.cluster.x-k8s.io org-acme/wc1 for alice@example.com");
}

TEST(FederationAccess, ReadingTheAnswer) {
  EXPECT_TRUE(review_allowed(json::parse(R"({"status":{"allowed":true}})")));
  EXPECT_FALSE(review_allowed(json::parse(R"({"status":{"allowed":false,"reason":"no"}})")));
  EXPECT_FALSE(review_allowed(json::parse(R"({"status":{}})")));
  EXPECT_FALSE(review_allowed(json::parse(R"({"status":{"allowed":"true"}})")));  // not a boolean
  EXPECT_FALSE(review_allowed(json::parse(R"({"status":{"allowed":true,"denied":true}})")));
  EXPECT_EQ(code_of([] { review_allowed(json::parse(R"({"kind":"Status"})")); }), Errc::unavailable);
  EXPECT_EQ(code_of([] { review_allowed(json::parse("[]")); }), Errc::unavailable);
}

TEST(FederationAccess, CacheTtlBoundAndKey) {
  auto t = std::chrono::steady_clock::now();
  AccessCache c(2, std::chrono::seconds(30), [&] { return t; });
  auto a = access_subject(alice()), b = access_subject(alice({"ops"}));
  c.put(a, {"get", "ns", "x"}, true);
  EXPECT_EQ(c.get(a, {"get", "ns", "x"}), true);
  // Another group set, verb, namespace or name is another question.
  EXPECT_FALSE(c.get(b, {"get", "ns", "x"}));
  EXPECT_FALSE(c.get(a, {"list", "ns", ""}));
  EXPECT_FALSE(c.get(a, {"get", "ns2", "x"}));
  EXPECT_FALSE(c.get(a, {"get", "ns", "y"}));
  t += std::chrono::seconds(30);
  EXPECT_FALSE(c.get(a, {"get", "ns", "x"}));  // expired: asked again
  EXPECT_EQ(c.size(), 0u);
  c.put(a, {"get", "ns", "1"}, true);
  c.put(a, {"get", "ns", "2"}, false);
  EXPECT_EQ(c.get(a, {"get", "ns", "1"}), true);  // 1 is now the most recently used
  c.put(a, {"get", "ns", "3"}, true);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_FALSE(c.get(a, {"get", "ns", "2"}));  // the least recently used went
  EXPECT_EQ(c.get(a, {"get", "ns", "1"}), true);
  EXPECT_EQ(c.get(a, {"get", "ns", "3"}), true);
}

TEST(FederationAccess, ListingAsksEverywhereThenPerNamespaceThenPerObject) {
  boost::asio::io_context io;
  FakeMc mc;
  // org-a: may list; org-b: may get b1 only; org-c: nothing.
  mc.allow = {"list org-a ", "get org-b b1"};
  AccessChecker ck(mc.review(), 100, std::chrono::seconds(30));
  std::vector<ClusterInfo> all{cluster("org-a", "a1"), cluster("org-a", "a2"), cluster("org-a", "a3"),
                               cluster("org-b", "b1"), cluster("org-b", "b2"), cluster("org-c", "c1")};
  auto s = access_subject(alice());
  auto seen = auth_test::run(io, ck.visible(s, all));
  EXPECT_EQ(names(seen), (std::vector<std::string>{"org-a/a1", "org-a/a2", "org-a/a3", "org-b/b1"}));
  // The cluster-wide list, 3 namespace lists, then b1, b2, c1 (a1..a3 needed no question of their own).
  EXPECT_EQ(ck.reviews(), 7u);
  EXPECT_EQ(mc.asked.front().at("spec").at("user").as_string(), "alice@example.com");
  EXPECT_EQ(mc.asked.front().at("spec").at("resourceAttributes").at("namespace").as_string(), "");
  // The same listing again is answered from the cache.
  auto again = auth_test::run(io, ck.visible(s, all));
  EXPECT_EQ(names(again), names(seen));
  EXPECT_EQ(ck.reviews(), 7u);
  // One name: what a listing shows, cluster: X accepts.
  auto one = [&](AccessChecker& c, std::string name, std::string ns) {
    return names(auth_test::run(io, c.named(s, all, name, ns)));
  };
  EXPECT_EQ(one(ck, "a2", ""), (std::vector<std::string>{"org-a/a2"}));
  EXPECT_EQ(one(ck, "b1", ""), (std::vector<std::string>{"org-b/b1"}));
  EXPECT_TRUE(one(ck, "b2", "").empty());
  EXPECT_TRUE(one(ck, "c1", "org-c").empty());
  // A fresh checker: a name costs the cluster-wide list, each namespace's list (they serve the
  // namespace's other clusters too), and a get of the name where that list is refused.
  AccessChecker fresh(mc.review(), 100, std::chrono::seconds(30));
  EXPECT_EQ(one(fresh, "a1", "org-a"), (std::vector<std::string>{"org-a/a1"}));
  EXPECT_EQ(fresh.reviews(), 2u);  // list everywhere (no), list org-a (yes)
  EXPECT_EQ(one(fresh, "a2", "org-a"), (std::vector<std::string>{"org-a/a2"}));
  EXPECT_EQ(fresh.reviews(), 2u);
  EXPECT_EQ(one(fresh, "b1", ""), (std::vector<std::string>{"org-b/b1"}));
  EXPECT_EQ(fresh.reviews(), 6u);  // list org-b, list org-c (no); get org-b/b1 (yes), get org-c/b1 (no)
  // Allowed to list everywhere: one review shows everything.
  FakeMc wide;
  wide.allow = {"list  "};
  AccessChecker w(wide.review(), 100, std::chrono::seconds(30));
  EXPECT_EQ(names(auth_test::run(io, w.visible(s, all))).size(), all.size());
  EXPECT_EQ(one(w, "c1", ""), (std::vector<std::string>{"org-c/c1"}));
  EXPECT_EQ(w.reviews(), 1u);
  // Another user (groups) is asked about afresh.
  auto other = access_subject(alice({"ops"}));
  auth_test::run(io, ck.visible(other, all));
  EXPECT_GT(ck.reviews(), 11u);
}

TEST(FederationAccess, FailedReviewFailsClosedAndIsNotCached) {
  boost::asio::io_context io;
  FakeMc mc;
  mc.allow = {"list org-a "};
  mc.fail = [] { mk::fail(Errc::timeout, "no answer within 30 s"); };
  AccessChecker ck(mc.review(), 100, std::chrono::seconds(30));
  auto s = access_subject(alice());
  std::vector<ClusterInfo> all{cluster("org-a", "a1")};
  std::string what;
  EXPECT_EQ(code_of([&] { auth_test::run(io, ck.visible(s, all)); }, &what), Errc::timeout);
  EXPECT_NE(what.find("SubjectAccessReview: list clusters.cluster.x-k8s.io in all namespaces for alice@example.com"),
            std::string::npos)
      << what;
  EXPECT_EQ(ck.cache().size(), 0u);
  // The server may not create reviews: its configuration, named as such (not the user's "forbidden").
  mc.fail = [] { mk::fail(Errc::forbidden, "subjectaccessreviews.authorization.k8s.io is forbidden"); };
  EXPECT_EQ(code_of([&] { auth_test::run(io, ck.named(s, all, "a1", "")); }, &what), Errc::unavailable);
  EXPECT_NE(what.find("needs create on subjectaccessreviews"), std::string::npos) << what;
  // An answer without a status is a failure too, not a "no".
  mc.fail = {};
  AccessChecker odd(
      [](json::object) -> boost::asio::awaitable<json::value> {
        co_return json::value{{"kind", "Status"}};
      },
      100, std::chrono::seconds(30));
  EXPECT_EQ(code_of([&] { auth_test::run(io, odd.visible(s, all)); }), Errc::unavailable);
  // Once the review answers, it is asked again (nothing was cached) and allowed.
  auto ok = auth_test::run(io, ck.visible(s, all));
  EXPECT_EQ(names(ok), (std::vector<std::string>{"org-a/a1"}));
}

TEST(FederationAccess, WhoIsChecked) {
  boost::asio::io_context io;
  auto none = [] { return std::shared_ptr<mk::k8s::Client>(); };
  Options o;
  o.oauth = true;
  Federation rbac(io.get_executor(), o, none);
  EXPECT_TRUE(rbac.checks_access(alice()));
  EXPECT_TRUE(rbac.checks_access({}));  // OAuth on and no user: checked, and refused
  o.access = AccessCheck::none;
  Federation off(io.get_executor(), o, none);
  EXPECT_FALSE(off.checks_access(alice()));
  Options local;  // no OAuth: the local user is the operator; unchanged
  Federation l(io.get_executor(), local, none);
  EXPECT_FALSE(l.checks_access({}));
  // A call under OAuth without a user lists nothing (before the management cluster is asked).
  std::string what;
  std::string everything;
  EXPECT_EQ(code_of([&] { auth_test::run(io, rbac.list(everything, mk::Identity{})); }, &what), Errc::unauthorized);
  auto unverified = alice();
  unverified.email_verified = false;
  EXPECT_EQ(code_of([&] { auth_test::run(io, rbac.find("wc1", "", unverified)); }, &what), Errc::unauthorized);
  EXPECT_NE(what.find("email_verified"), std::string::npos) << what;
}

TEST(FederationEmailVerified, ImpersonationRefusesAnUnverifiedAddress) {
  boost::asio::io_context io;
  Options o;
  o.oauth = true;
  Federation f(io.get_executor(), o, [] { return std::shared_ptr<mk::k8s::Client>(); });
  auto who = alice();
  who.email_verified = false;
  mk::k8s::RestConfig rc;
  std::string what;
  EXPECT_EQ(code_of([&] { f.impersonate(rc, who); }, &what), Errc::unauthorized);
  EXPECT_NE(what.find("email_verified: false"), std::string::npos) << what;
  EXPECT_TRUE(rc.auth.impersonate.empty());
  // The client is refused before any Secret is read (the management client here is null).
  EXPECT_EQ(code_of([&] { auth_test::run(io, f.client(cluster("org-a", "a1"), who)); }), Errc::unauthorized);
  who.email_verified = std::nullopt;  // absent claim: allowed
  f.impersonate(rc, who);
  EXPECT_EQ(rc.auth.impersonate, "alice@example.com");
}

TEST(FederationEmailVerified, ReadFromTheIdTokenAndKeptInTheGrant) {
  using mk::auth::user_from_claims;
  auto claims = [](std::string_view ev) {
    auto o = json::parse(R"({"sub":"s","email":"a@example.com","groups":["g"]})").as_object();
    if (!ev.empty()) o["email_verified"] = json::parse(ev);
    return o;
  };
  EXPECT_EQ(user_from_claims(claims("true")).email_verified, true);
  EXPECT_EQ(user_from_claims(claims("false")).email_verified, false);
  EXPECT_EQ(user_from_claims(claims(R"("true")")).email_verified, true);
  EXPECT_EQ(user_from_claims(claims(R"("false")")).email_verified, false);
  EXPECT_EQ(user_from_claims(claims("0")).email_verified, false);  // present but not true: not verified
  EXPECT_EQ(user_from_claims(claims("")).email_verified, std::nullopt);
  mk::auth::Grant g;
  g.family = "f";
  g.user = user_from_claims(claims("false"));
  auto back = mk::auth::from_json<mk::auth::Grant>(json::serialize(mk::auth::to_json(g)));
  EXPECT_EQ(back.user.email_verified, false);
  g.user.email_verified = std::nullopt;
  back = mk::auth::from_json<mk::auth::Grant>(json::serialize(mk::auth::to_json(g)));
  EXPECT_EQ(back.user.email_verified, std::nullopt);  // records written before this field read as absent
}
