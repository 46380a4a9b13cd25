// The workload-client cache: bounded entries with LRU eviction, a TTL, and a key that changes
// with the groups and the token (never the e-mail alone).
#include "federation/client_cache.hpp"
#include "federation/federation.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

using namespace mk::federation;

namespace {

struct FakeClock {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  ClientCache::Clock fn() {
    return [this] { return t; };
  }
};

std::shared_ptr<mk::k8s::Client> dummy() {
  // The cache only holds pointers; an aliasing pointer stands in for a client.
  static int x;
  return std::shared_ptr<mk::k8s::Client>(std::shared_ptr<int>(), reinterpret_cast<mk::k8s::Client*>(&x));
}

CacheKey key(std::string cluster, std::string email = "alice@example.com") {
  return {.cluster_ns = "org-acme", .cluster_name = std::move(cluster), .subject = "sub-1", .email = std::move(email)};
}

}  // namespace

TEST(FederationCache, HitMissAndTtl) {
  FakeClock clock;
  ClientCache c(10, std::chrono::minutes(10), clock.fn());
  EXPECT_EQ(c.get(key("a")), nullptr);
  auto client = dummy();
  c.put(key("a"), client);
  EXPECT_EQ(c.get(key("a")), client);
  clock.t += std::chrono::minutes(9);
  EXPECT_EQ(c.get(key("a")), client);
  clock.t += std::chrono::minutes(1);
  EXPECT_EQ(c.get(key("a")), nullptr) << "expired at the TTL, counted from creation";
  EXPECT_EQ(c.size(), 0u);
}

TEST(FederationCache, LeastRecentlyUsedIsEvicted) {
  FakeClock clock;
  ClientCache c(2, std::chrono::minutes(10), clock.fn());
  c.put(key("a"), dummy());
  c.put(key("b"), dummy());
  EXPECT_NE(c.get(key("a")), nullptr);  // a is now the most recently used
  c.put(key("c"), dummy());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_NE(c.get(key("a")), nullptr);
  EXPECT_EQ(c.get(key("b")), nullptr) << "b was least recently used";
  EXPECT_NE(c.get(key("c")), nullptr);
  EXPECT_EQ(c.evictions(), 1u);
}

TEST(FederationCache, ExpiredEntriesGoBeforeLiveOnes) {
  FakeClock clock;
  ClientCache c(2, std::chrono::minutes(10), clock.fn());
  c.put(key("old"), dummy());
  clock.t += std::chrono::minutes(5);
  c.put(key("live"), dummy());
  clock.t += std::chrono::minutes(6);  // old expired, live not
  c.put(key("new"), dummy());
  EXPECT_NE(c.get(key("live")), nullptr);
  EXPECT_NE(c.get(key("new")), nullptr);
}

TEST(FederationCache, KeyIncludesGroupsTokenAndMode) {
  boost::asio::io_context io;
  Options o;
  o.oauth = true;
  o.group_mappings = {{"idp-admins", "ops"}};
  Federation f(io.get_executor(), o, [] { return std::shared_ptr<mk::k8s::Client>(); });
  ClusterInfo cl;
  cl.name = "wc1";
  cl.ns = "org-acme";
  mk::Identity alice{
      .subject = "s1", .email = "alice@example.com", .groups = {"b", "idp-admins"}, .upstream_token = "t1"};
  auto k1 = f.cache_key(cl, alice);
  EXPECT_EQ(k1.groups, (std::vector<std::string>{"b", "ops"})) << "mapped and sorted";
  EXPECT_NE(k1.token_hash, "") << "hashed";
  EXPECT_EQ(k1.token_hash.find("t1"), std::string::npos);
  auto other_groups = alice;
  other_groups.groups = {"b"};
  EXPECT_NE(f.cache_key(cl, other_groups), k1) << "same e-mail, other groups: another client";
  auto other_token = alice;
  other_token.upstream_token = "t2";
  EXPECT_NE(f.cache_key(cl, other_token), k1) << "same e-mail, other token: another client";
  auto reordered = alice;
  reordered.groups = {"idp-admins", "b"};
  EXPECT_EQ(f.cache_key(cl, reordered), k1) << "group order does not matter";
  ClusterInfo cl2 = cl;
  cl2.ns = "org-beta";
  EXPECT_NE(f.cache_key(cl2, alice), k1) << "same name in another namespace is another cluster";
}

TEST(FederationImpersonation, HeadersCarryUserMappedGroupsAndExtras) {
  boost::asio::io_context io;
  Options o;
  o.oauth = true;
  o.group_mappings = {{"idp-admins", "ops"}};
  Federation f(io.get_executor(), o, [] { return std::shared_ptr<mk::k8s::Client>(); });
  mk::k8s::RestConfig rc;
  f.impersonate(rc,
                {.subject = "s1", .email = "alice@example.com", .groups = {"idp-admins", "dev"}, .upstream_token = ""});
  EXPECT_EQ(rc.auth.impersonate, "alice@example.com");
  EXPECT_EQ(rc.auth.impersonate_groups, (std::vector<std::string>{"dev", "ops"}));
  ASSERT_EQ(rc.auth.impersonate_extra.size(), 2u);
  EXPECT_EQ(rc.auth.impersonate_extra[0], (std::pair<std::string, std::string>{"agent", "mcp-kubernetes"}));
  EXPECT_EQ(rc.auth.impersonate_extra[1], (std::pair<std::string, std::string>{"sub", "s1"}));
  EXPECT_EQ(f.describe({.subject = "s1", .email = "alice@example.com", .groups = {}, .upstream_token = ""}),
            "impersonating alice@example.com");
  for (auto bad : {std::string("evil@example.com\r\nImpersonate-Group: system:masters"), std::string()}) {
    mk::k8s::RestConfig r2;
    try {
      f.impersonate(r2, {.subject = "s1", .email = bad, .groups = {}, .upstream_token = ""});
      ADD_FAILURE() << "accepted " << bad;
    } catch (const mk::Error& e) {
      EXPECT_EQ(e.code(), mk::Errc::unauthorized);
    }
    EXPECT_TRUE(r2.auth.impersonate.empty());
  }
  Options local;
  Federation l(io.get_executor(), local, [] { return std::shared_ptr<mk::k8s::Client>(); });
  EXPECT_EQ(l.mode_name(), "local");
  EXPECT_EQ(l.describe({}), "local credentials");
}

TEST(FederationPick, AmbiguousNamesAreAnErrorNotTheFirstMatch) {
  std::vector<ClusterInfo> all(3);
  all[0].name = "wc1";
  all[0].ns = "org-acme";
  all[1].name = "wc1";
  all[1].ns = "org-beta";
  all[2].name = "wc2";
  all[2].ns = "org-acme";
  EXPECT_EQ(Federation::pick(all, "wc2", "").ns, "org-acme");
  EXPECT_EQ(Federation::pick(all, "wc1", "org-beta").ns, "org-beta");
  try {
    Federation::pick(all, "wc1", "");
    ADD_FAILURE();
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("org-acme, org-beta"), std::string::npos) << e.what();
    // The error shows the form that resolves it (the pipeline accepts cluster: "namespace/name").
    EXPECT_NE(std::string(e.what()).find("\"org-acme/wc1\""), std::string::npos) << e.what();
  }
  try {
    Federation::pick(all, "nope", "");
    ADD_FAILURE();
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::not_found);
    EXPECT_EQ(std::string(e.what()), "cluster \"nope\" not found; capi_list_clusters lists the clusters");
  }
}
