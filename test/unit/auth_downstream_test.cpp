// Downstream OAuth at the client factory: the user's token or nothing (fail closed), one
// client per (context, user, token), and none of the kubeconfig user's own credentials.
#include "pipeline/clusters.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <cstdlib>

using namespace mk;

namespace {

class DownstreamTest : public ::testing::Test {
 protected:
  DownstreamTest() {
    auto kc = dir_.write("kubeconfig", R"(apiVersion: v1
kind: Config
clusters:
- {name: c, cluster: {server: "https://127.0.0.1:1"}}
- {name: plain, cluster: {server: "http://127.0.0.1:2"}}
- {name: unverified, cluster: {server: "https://127.0.0.1:3", insecure-skip-tls-verify: true}}
users: [{name: u, user: {token: server-own-token, as: someone}}]
contexts:
- {name: ctx, context: {cluster: c, user: u}}
- {name: other, context: {cluster: c, user: u}}
- {name: plain, context: {cluster: plain, user: u}}
- {name: unverified, context: {cluster: unverified, user: u}}
current-context: ctx
)");
    ::setenv("KUBECONFIG", kc.c_str(), 1);
  }
  ~DownstreamTest() override { ::unsetenv("KUBECONFIG"); }
  pipeline::ClustersOptions opts(bool downstream) {
    pipeline::ClustersOptions o;
    o.downstream_oauth = downstream;
    o.max_user_clients = 2;
    return o;
  }
  testutil::TempDir dir_;
  boost::asio::io_context io_;
};

TEST_F(DownstreamTest, NoUserTokenFailsClosed) {
  pipeline::Clusters clusters(io_.get_executor(), opts(true));
  Identity who{"sub-1", "u@example.com", {"g"}, ""};
  try {
    clusters.client("", who);
    FAIL() << "a client without the user's token";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unauthorized);
  }
  EXPECT_THROW(clusters.client("", Identity{}), Error);
}

TEST_F(DownstreamTest, UsesOnlyTheUsersToken) {
  pipeline::Clusters clusters(io_.get_executor(), opts(true));
  Identity who{"sub-1", "u@example.com", {"g"}, "user-id-token"};
  auto c = clusters.client("", who);
  EXPECT_EQ(c->config().auth.token, "user-id-token");
  EXPECT_TRUE(c->config().auth.impersonate.empty());  // nothing of the kubeconfig user
  EXPECT_EQ(c->config().cluster.server, "https://127.0.0.1:1");
  EXPECT_EQ(clusters.client("", who), c);  // cached
  who.upstream_token = "renewed-token";
  auto c2 = clusters.client("", who);
  EXPECT_NE(c2, c);  // a new token, a new client
  EXPECT_EQ(c2->config().auth.token, "renewed-token");
  EXPECT_NE(clusters.client("other", who), c2);  // per context
  EXPECT_THROW(clusters.client("nope", who), Error);
}

// The user's token is a bearer credential: never sent in clear text or without verifying
// the server's certificate, whatever context the caller names.
TEST_F(DownstreamTest, TokenGoesOnlyToVerifiedHttps) {
  pipeline::Clusters clusters(io_.get_executor(), opts(true));
  Identity who{"sub-1", "u@example.com", {"g"}, "user-id-token"};
  for (const char* ctx : {"plain", "unverified"}) {
    try {
      clusters.client(ctx, who);
      FAIL() << ctx << ": the user's token would be sent";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::policy_denied) << ctx;
      EXPECT_NE(std::string(e.what()).find("verified HTTPS"), std::string::npos) << e.what();
    }
  }
}

TEST_F(DownstreamTest, WithoutDownstreamTheContextsCredentials) {
  pipeline::Clusters clusters(io_.get_executor(), opts(false));
  Identity who{"sub-1", "u@example.com", {"g"}, "user-id-token"};
  EXPECT_EQ(clusters.client("", who)->config().auth.token, "server-own-token");
}

}  // namespace
