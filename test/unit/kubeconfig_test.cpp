// kubeconfig loading as client-go does it: merging several files (first wins), file
// references relative to the file naming them, *-data over files, exec config, in-cluster.
#include "k8s/kubeconfig.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <optional>

using namespace mk::k8s;
using testutil::TempDir;

namespace {

// Sets an environment variable for one test and restores the old value afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

mk::Errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mk::Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected an mk::Error";
  return mk::Errc::internal;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mk::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an mk::Error";
  return {};
}

const char* kFirst = R"(apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: shared
  cluster:
    server: https://first.example:6443
    insecure-skip-tls-verify: true
- name: only-first
  cluster:
    server: https://only-first.example
contexts:
- name: alpha
  context: {cluster: shared, user: u1, namespace: team-a}
- name: both
  context: {cluster: only-first, user: u1}
users:
- name: u1
  user:
    token: first-token
)";

const char* kSecond = R"(apiVersion: v1
kind: Config
current-context: beta
clusters:
- name: shared
  cluster:
    server: https://second.example:6443
- name: only-second
  cluster:
    server: https://only-second.example
contexts:
- name: beta
  context: {cluster: only-second, user: u2}
- name: both
  context: {cluster: only-second, user: u2, namespace: from-second}
users:
- name: u1
  user:
    token: second-token
- name: u2
  user:
    username: admin
    password: secret
)";

}  // namespace

TEST(Kubeconfig, ParsesClustersUsersContexts) {
  auto kc = parse_kubeconfig(kFirst, "");
  EXPECT_EQ(kc.current_context, "alpha");
  ASSERT_EQ(kc.contexts.size(), 2u);
  EXPECT_EQ(kc.contexts[0].name, "alpha");
  EXPECT_EQ(kc.contexts[0].namespace_, "team-a");
  EXPECT_TRUE(kc.clusters.at("shared").insecure_skip_tls_verify);
  EXPECT_FALSE(kc.clusters.at("only-first").insecure_skip_tls_verify);
  EXPECT_EQ(kc.users.at("u1").token, "first-token");

  auto rc = rest_config_for(kc, "");
  EXPECT_EQ(rc.context, "alpha");
  EXPECT_EQ(rc.cluster.server, "https://first.example:6443");
  EXPECT_EQ(rc.namespace_, "team-a");
  EXPECT_EQ(rest_config_for(kc, "both").namespace_, "default");  // no namespace => "default"
}

TEST(Kubeconfig, MergesSeveralFilesFirstWins) {
  TempDir d;
  auto a = d.write("a/config", kFirst);
  auto b = d.write("b/config", kSecond);
  auto kc = load_kubeconfig({a, b});
  ASSERT_EQ(kc.sources.size(), 2u);
  EXPECT_EQ(kc.current_context, "alpha");  // first file that sets it
  // Per name, the first definition wins; names only in later files are added.
  EXPECT_EQ(kc.clusters.at("shared").server, "https://first.example:6443");
  EXPECT_EQ(kc.users.at("u1").token, "first-token");
  EXPECT_EQ(kc.users.at("u2").username, "admin");
  EXPECT_TRUE(kc.clusters.contains("only-second"));
  ASSERT_EQ(kc.contexts.size(), 3u);
  EXPECT_EQ(kc.contexts[0].name, "alpha");
  EXPECT_EQ(kc.contexts[1].name, "both");
  EXPECT_EQ(kc.contexts[1].cluster, "only-first");  // the first file's "both"
  EXPECT_EQ(kc.contexts[2].name, "beta");

  // The reverse order flips every "first".
  auto rev = load_kubeconfig({b, a});
  EXPECT_EQ(rev.current_context, "beta");
  EXPECT_EQ(rev.clusters.at("shared").server, "https://second.example:6443");
  EXPECT_EQ(rev.find_context("both")->namespace_, "from-second");
  auto rc = rest_config_for(rev, "beta");
  EXPECT_EQ(rc.auth.username, "admin");
  EXPECT_EQ(rc.auth.password, "secret");
}

TEST(Kubeconfig, CurrentContextFromLaterFileWhenFirstHasNone) {
  TempDir d;
  auto a = d.write("a", "apiVersion: v1\nkind: Config\nclusters: []\n");
  auto b = d.write("b", kSecond);
  EXPECT_EQ(load_kubeconfig({a, b}).current_context, "beta");
}

TEST(Kubeconfig, MissingFilesAreSkipped) {
  TempDir d;
  auto a = d.write("a", kFirst);
  auto kc = load_kubeconfig({d.str() + "/missing-1", a, d.str() + "/missing-2"});
  ASSERT_EQ(kc.sources.size(), 1u);
  EXPECT_EQ(kc.sources[0], a);
  EXPECT_EQ(kc.current_context, "alpha");
  EXPECT_TRUE(load_kubeconfig({d.str() + "/nothing"}).sources.empty());
}

TEST(Kubeconfig, RelativePathsResolveAgainstTheFilesDirectory) {
  TempDir d;
  d.write("conf/pki/ca.crt", "CA-PEM");
  d.write("conf/pki/client.crt", "CERT-PEM");
  d.write("conf/pki/client.key", "KEY-PEM");
  auto cfg = d.write("conf/config", R"(apiVersion: v1
clusters:
- name: c
  cluster: {server: "https://k:6443", certificate-authority: pki/ca.crt}
users:
- name: u
  user: {client-certificate: pki/client.crt, client-key: pki/client.key, tokenFile: pki/token}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)");
  auto rc = rest_config_for(load_kubeconfig({cfg}), "");
  EXPECT_EQ(rc.cluster.ca_pem, "CA-PEM");
  EXPECT_EQ(rc.auth.client_cert_pem, "CERT-PEM");
  EXPECT_EQ(rc.auth.client_key_pem, "KEY-PEM");
  EXPECT_EQ(rc.auth.token_file, d.str() + "/conf/pki/token");
}

TEST(Kubeconfig, AbsolutePathsStayAbsolute) {
  TempDir d;
  auto ca = d.write("elsewhere/ca.crt", "ABS-CA");
  auto kc = parse_kubeconfig(
      "clusters:\n- name: c\n  cluster: {server: https://k, certificate-authority: " + ca + "}\n", "/nonexistent");
  EXPECT_EQ(kc.clusters.at("c").ca_pem, "ABS-CA");
}

TEST(Kubeconfig, DataBeatsFile) {
  // The file does not exist: with -data present it must not even be read.
  auto kc = parse_kubeconfig(R"(clusters:
- name: c
  cluster:
    server: https://k
    certificate-authority: /definitely/missing/ca.crt
    certificate-authority-data: )" +
                                 base64_encode("DATA-CA") + R"(
users:
- name: u
  user:
    client-certificate: /missing/cert
    client-certificate-data: )" + base64_encode("DATA-CERT") +
                                 R"(
    client-key-data: )" + base64_encode("DATA-KEY") +
                                 R"(
contexts:
- {name: x, context: {cluster: c, user: u}}
)",
                             "");
  auto rc = rest_config_for(kc, "x");
  EXPECT_EQ(rc.cluster.ca_pem, "DATA-CA");
  EXPECT_EQ(rc.auth.client_cert_pem, "DATA-CERT");
  EXPECT_EQ(rc.auth.client_key_pem, "DATA-KEY");
}

TEST(Kubeconfig, UnreadableFileOnlyBreaksContextsUsingIt) {
  TempDir d;
  auto cfg = d.write("config", R"(current-context: good
clusters:
- {name: ok, cluster: {server: "https://ok"}}
- {name: stale, cluster: {server: "https://stale", certificate-authority: gone/ca.crt}}
users:
- {name: u, user: {token: t}}
- {name: old, user: {client-certificate: gone/cert.pem, client-key: gone/key.pem}}
contexts:
- {name: good, context: {cluster: ok, user: u}}
- {name: bad-cluster, context: {cluster: stale, user: u}}
- {name: bad-user, context: {cluster: ok, user: old}}
)");
  auto kc = load_kubeconfig({cfg});  // must not throw: like kubectl, a stale entry is harmless
  EXPECT_EQ(rest_config_for(kc, "good").auth.token, "t");
  auto m1 = message_of([&] { rest_config_for(kc, "bad-cluster"); });
  EXPECT_NE(m1.find("gone/ca.crt"), std::string::npos) << m1;
  EXPECT_NE(m1.find("bad-cluster"), std::string::npos) << m1;
  auto m2 = message_of([&] { rest_config_for(kc, "bad-user"); });
  EXPECT_NE(m2.find("gone/cert.pem"), std::string::npos) << m2;
}

TEST(Kubeconfig, ParsesExecConfig) {
  TempDir d;
  auto cfg = d.write("k/config", R"(users:
- name: bare
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env:
      - {name: AWS_PROFILE, value: prod}
      - {name: EMPTY}
      provideClusterInfo: true
- name: relative
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin.sh
      interactiveMode: Never
)");
  auto kc = load_kubeconfig({cfg});
  auto& bare = kc.users.at("bare").exec;
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->api_version, "client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(bare->command, "aws");  // looked up in PATH, not resolved
  EXPECT_EQ(bare->args, (std::vector<std::string>{"eks", "get-token", "--cluster-name", "prod"}));
  ASSERT_EQ(bare->env.size(), 2u);
  EXPECT_EQ(bare->env[0], (std::pair<std::string, std::string>{"AWS_PROFILE", "prod"}));
  EXPECT_EQ(bare->env[1].second, "");
  EXPECT_TRUE(bare->provide_cluster_info);
  auto& rel = kc.users.at("relative").exec;
  ASSERT_TRUE(rel.has_value());
  EXPECT_EQ(rel->command, d.str() + "/k/./bin/plugin.sh");  // relative to the kubeconfig's directory
  EXPECT_FALSE(rel->provide_cluster_info);
}

TEST(Kubeconfig, ImpersonationAndAuthProvider) {
  auto kc = parse_kubeconfig(R"(users:
- name: u
  user:
    token: t
    as: jane
    as-groups: [devs, ops]
- name: gcp
  user:
    auth-provider: {name: gcp}
)",
                             "");
  EXPECT_EQ(kc.users.at("u").impersonate, "jane");
  EXPECT_EQ(kc.users.at("u").impersonate_groups, (std::vector<std::string>{"devs", "ops"}));
  EXPECT_TRUE(kc.users.at("gcp").has_auth_provider);
}

TEST(Kubeconfig, ErrorsAreClear) {
  EXPECT_EQ(code_of([] { parse_kubeconfig("clusters: [unclosed", ""); }), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of([] { parse_kubeconfig("- just\n- a list\n", ""); }), mk::Errc::invalid_argument);
  // Wrongly typed fields are ignored rather than crashing the parser.
  auto kc = parse_kubeconfig("clusters:\n- name: c\n  cluster: {server: s, insecure-skip-tls-verify: maybe}\n", "");
  EXPECT_FALSE(kc.clusters.at("c").insecure_skip_tls_verify);
  EXPECT_TRUE(parse_kubeconfig("", "").contexts.empty());

  auto good = parse_kubeconfig(kFirst, "");
  auto unknown = message_of([&] { rest_config_for(good, "nope"); });
  EXPECT_NE(unknown.find("\"nope\""), std::string::npos) << unknown;
  EXPECT_EQ(code_of([&] { rest_config_for(good, "nope"); }), mk::Errc::not_found);
  auto noctx = parse_kubeconfig("clusters: []\n", "");
  EXPECT_EQ(code_of([&] { rest_config_for(noctx, ""); }), mk::Errc::invalid_argument);
  auto dangling = parse_kubeconfig("contexts:\n- {name: x, context: {cluster: ghost}}\n", "");
  EXPECT_NE(message_of([&] { rest_config_for(dangling, "x"); }).find("ghost"), std::string::npos);

  TempDir d;
  auto broken = d.write("broken", "clusters: [unclosed");
  auto m = message_of([&] { load_kubeconfig({broken}); });
  EXPECT_NE(m.find(broken), std::string::npos) << "the error names the file: " << m;
}

TEST(Kubeconfig, DefaultPathsFromEnvironment) {
  {
    ScopedEnv k("KUBECONFIG", "/a/one:/b/two::~/three");
    ScopedEnv h("HOME", "/home/me");
    EXPECT_EQ(default_kubeconfig_paths(), (std::vector<std::string>{"/a/one", "/b/two", "/home/me/three"}));
  }
  {
    ScopedEnv k("KUBECONFIG", nullptr);
    ScopedEnv h("HOME", "/home/me");
    EXPECT_EQ(default_kubeconfig_paths(), (std::vector<std::string>{"/home/me/.kube/config"}));
  }
}

TEST(Kubeconfig, Base64RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "-----BEGIN CERTIFICATE-----\n\x01\xff"})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_decode("aGVs\nbG8="), "hello");  // line breaks as in PEM-ish data
  EXPECT_EQ(code_of([] { base64_decode("abc"); }), mk::Errc::invalid_argument);
}

TEST(Kubeconfig, InClusterConfig) {
  TempDir d;
  InClusterPaths p{d.write("token", "sa-token\n"), d.write("ca.crt", "SA-CA"), d.write("namespace", "apps\n")};
  {
    ScopedEnv h("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
    auto rc = in_cluster_config(p);
    EXPECT_EQ(rc.cluster.server, "https://10.0.0.1:443");
    EXPECT_EQ(rc.cluster.ca_pem, "SA-CA");
    EXPECT_EQ(rc.auth.token_file, p.token);  // read per request, so rotation is picked up
    EXPECT_EQ(rc.namespace_, "apps");
  }
  {
    ScopedEnv h("KUBERNETES_SERVICE_HOST", "fd00::1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
    EXPECT_EQ(in_cluster_config(p).cluster.server, "https://[fd00::1]:6443");
  }
  {
    ScopedEnv h("KUBERNETES_SERVICE_HOST", nullptr);
    EXPECT_EQ(code_of([&] { in_cluster_config(p); }), mk::Errc::invalid_argument);
  }
}

TEST(Kubeconfig, ScalarsAreReadAsWritten) {
  // A numeric-looking token or password must not become a number (0123 is not 83).
  auto kc = parse_kubeconfig(R"(users:
- name: u
  user: {token: 0123, password: 1e5, username: true}
clusters:
- name: c
  cluster: {server: "https://x:1", insecure-skip-tls-verify: yes}
)",
                             "");
  EXPECT_EQ(kc.users.at("u").token, "0123");
  EXPECT_EQ(kc.users.at("u").password, "1e5");
  EXPECT_EQ(kc.users.at("u").username, "true");
  EXPECT_TRUE(kc.clusters.at("c").insecure_skip_tls_verify);  // YAML 1.1 "yes", as go-yaml v2 reads it
}

TEST(Kubeconfig, JsonKubeconfigWorks) {
  auto kc = parse_kubeconfig(
      R"({"current-context":"j","clusters":[{"name":"c","cluster":{"server":"https://j:6443","insecure-skip-tls-verify":true}}],)"
      R"("users":[{"name":"u","user":{"token":"t"}}],"contexts":[{"name":"j","context":{"cluster":"c","user":"u"}}]})",
      "");
  auto rc = rest_config_for(kc, "");
  EXPECT_EQ(rc.cluster.server, "https://j:6443");
  EXPECT_TRUE(rc.cluster.insecure_skip_tls_verify);
  EXPECT_EQ(rc.auth.token, "t");
}
