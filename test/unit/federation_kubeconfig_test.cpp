// The <cluster>-kubeconfig Secret comes from whoever controls the cluster's namespace: only inline
// credentials are accepted; plugins (a command run here) and file paths (files of this host) are
// refused before anything is read or run.
#include "federation/workload_kubeconfig.hpp"
#include "k8s/kubeconfig.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <functional>

using namespace mk::federation;
namespace json = boost::json;

namespace {

std::string kubeconfig(const std::string& cluster_extra, const std::string& user) {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: wc\n  cluster:\n    server: https://10.1.2.3:6443\n"
         "    certificate-authority-data: " +
         mk::k8s::base64_encode("CA PEM") + "\n" + cluster_extra + "users:\n- name: admin\n  user:\n" + user +
         "contexts:\n- name: wc-admin\n  context: {cluster: wc, user: admin}\ncurrent-context: wc-admin\n";
}

std::string refusal(const std::string& text) {
  try {
    parse_workload_kubeconfig(text);
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::policy_denied) << e.what();
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST(FederationKubeconfig, InlineCredentialsAreAccepted) {
  auto rc = parse_workload_kubeconfig(kubeconfig("", "    client-certificate-data: " + mk::k8s::base64_encode("CERT") +
                                                         "\n    client-key-data: " + mk::k8s::base64_encode("KEY") +
                                                         "\n    as: someone-else\n"));
  EXPECT_EQ(rc.cluster.server, "https://10.1.2.3:6443");
  EXPECT_EQ(rc.cluster.ca_pem, "CA PEM");
  EXPECT_EQ(rc.auth.client_cert_pem, "CERT");
  EXPECT_EQ(rc.auth.client_key_pem, "KEY");
  EXPECT_TRUE(rc.auth.impersonate.empty()) << "impersonation is the server's decision, not the Secret's";
  auto tok = parse_workload_kubeconfig(kubeconfig("", "    token: abc\n"));
  EXPECT_EQ(tok.auth.token, "abc");
}

TEST(FederationKubeconfig, PluginsAndFilePathsAreRefused) {
  EXPECT_NE(refusal(kubeconfig("", "    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}\n"))
                .find("exec"),
            std::string::npos);
  EXPECT_NE(refusal(kubeconfig("", "    auth-provider: {name: oidc}\n")).find("auth-provider"), std::string::npos);
  EXPECT_NE(refusal(kubeconfig("", "    client-certificate: /etc/shadow\n    client-key-data: eA==\n"))
                .find("client-certificate file"),
            std::string::npos);
  EXPECT_NE(refusal(kubeconfig("", "    client-key: /root/key.pem\n")).find("client-key file"), std::string::npos);
  EXPECT_NE(
      refusal(kubeconfig("", "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n")).find("tokenFile"),
      std::string::npos);
  EXPECT_NE(refusal(kubeconfig("    certificate-authority: /etc/ssl/ca.pem\n", "    token: t\n"))
                .find("certificate-authority file"),
            std::string::npos);
  EXPECT_NE(refusal(kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n")).find("insecure"),
            std::string::npos);
}

TEST(FederationKubeconfig, PlainHttpIsRefused) {
  auto text = kubeconfig("", "    token: t\n");
  text.replace(text.find("https://"), 8, "http://");
  EXPECT_NE(refusal(text).find("https"), std::string::npos);
}

TEST(FederationKubeconfig, SecretKeys) {
  auto b64 = mk::k8s::base64_encode("apiVersion: v1");
  json::object value{{"data", json::object{{"value", b64}, {"kubeconfig", "eA=="}}}};
  EXPECT_EQ(kubeconfig_from_secret(value), "apiVersion: v1") << "value wins";
  json::object fallback{{"data", json::object{{"kubeconfig", b64}}}};
  EXPECT_EQ(kubeconfig_from_secret(fallback), "apiVersion: v1");
  json::object none{{"data", json::object{{"other", b64}}}};
  try {
    kubeconfig_from_secret(none);
    ADD_FAILURE() << "no key accepted";
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::not_found);
  }
}

TEST(FederationKubeconfig, GarbageIsAnErrorNotACrash) {
  for (const char* bad : {"", "[]", "clusters: 7", "{{{{", "users: [{name: u, user: 5}]"}) {
    try {
      parse_workload_kubeconfig(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const mk::Error&) {
    }
  }
}
