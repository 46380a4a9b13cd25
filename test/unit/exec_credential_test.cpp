// Exec credential plugins, run for real: small shell scripts that print ExecCredential JSON.
#include "k8s/exec_credential.hpp"
#include "k8s/api_transport.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace mk::k8s;
using testutil::TempDir;
using namespace std::chrono_literals;

namespace {

std::chrono::system_clock::time_point utc(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

ExecConfig plugin(const std::string& path, std::string api = "client.authentication.k8s.io/v1") {
  ExecConfig c;
  c.api_version = std::move(api);
  c.command = path;
  return c;
}

// Runs the plugin expecting failure; returns the message (and checks the category).
std::string failure(const ExecConfig& cfg, std::chrono::milliseconds timeout = 10s) {
  try {
    run_exec_plugin(cfg, ClusterInfo{.server = "https://k:6443"}, timeout);
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::unauthorized) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "plugin " << cfg.command << " should have failed";
  return {};
}

}  // namespace

TEST(ExecCredential, V1TokenWithExpiry) {
  TempDir d;
  auto p = d.write("v1.sh", R"(#!/bin/sh
cat <<EOF
{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
 "status":{"token":"tok-$1","expirationTimestamp":"2031-05-06T07:08:09Z"}}
EOF
)",
                   true);
  auto cfg = plugin(p);
  cfg.args = {"abc"};
  auto cred = run_exec_plugin(cfg, ClusterInfo{.server = "https://k"}, 10s);
  EXPECT_EQ(cred.token, "tok-abc");
  ASSERT_TRUE(cred.expiry.has_value());
  EXPECT_EQ(*cred.expiry, utc(2031, 5, 6, 7, 8, 9));
}

TEST(ExecCredential, V1beta1ClientCertificateWithoutExpiry) {
  TempDir d;
  auto p = d.write("beta.sh", R"(#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",'
echo ' "status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}}'
)",
                   true);
  auto cred = run_exec_plugin(plugin(p, "client.authentication.k8s.io/v1beta1"), ClusterInfo{}, 10s);
  EXPECT_EQ(cred.client_cert_pem, "CERT");
  EXPECT_EQ(cred.client_key_pem, "KEY");
  EXPECT_TRUE(cred.token.empty());
  EXPECT_FALSE(cred.expiry.has_value());  // valid until the API server says 401
}

TEST(ExecCredential, PassesExecInfoAndEnvironment) {
  TempDir d;
  // The token echoes what the plugin saw, so the test can check it.
  auto p = d.write("env.sh", R"(#!/bin/sh
info=$(printf %s "$KUBERNETES_EXEC_INFO" | tr -d '"{}: ' )
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s|%s|%s"}}' \
  "$PLUGIN_MODE" "$OVERRIDDEN" "$info"
)",
                   true);
  ::setenv("OVERRIDDEN", "inherited", 1);
  auto cfg = plugin(p);
  cfg.env = {{"PLUGIN_MODE", "fast"}, {"OVERRIDDEN", "from-kubeconfig"}};
  cfg.provide_cluster_info = true;
  auto cred = run_exec_plugin(cfg, ClusterInfo{.server = "https://api.example:6443", .ca_pem = "CA"}, 10s);
  ::unsetenv("OVERRIDDEN");
  auto bar = cred.token.find('|');
  ASSERT_NE(bar, std::string::npos) << cred.token;
  EXPECT_EQ(cred.token.substr(0, bar), "fast");
  EXPECT_NE(cred.token.find("|from-kubeconfig|"), std::string::npos) << "kubeconfig env must win: " << cred.token;
  EXPECT_NE(cred.token.find("apiVersionclient.authentication.k8s.io/v1"), std::string::npos) << cred.token;
  EXPECT_NE(cred.token.find("kindExecCredential"), std::string::npos) << cred.token;
  EXPECT_NE(cred.token.find("serverhttps//api.example6443"), std::string::npos) << cred.token;
  EXPECT_NE(cred.token.find("certificate-authority-data" + base64_encode("CA")), std::string::npos) << cred.token;
}

TEST(ExecCredential, NonZeroExitIsAClearError) {
  TempDir d;
  auto p = d.write("fail.sh", "#!/bin/sh\necho 'error: SSO session expired, run login' >&2\nexit 3\n", true);
  auto m = failure(plugin(p));
  EXPECT_NE(m.find("status 3"), std::string::npos) << m;
  EXPECT_NE(m.find("SSO session expired"), std::string::npos) << m;
  EXPECT_NE(m.find(p), std::string::npos) << "names the plugin: " << m;
}

TEST(ExecCredential, TimeoutKillsThePlugin) {
  TempDir d;
  auto p = d.write("slow.sh", "#!/bin/sh\nsleep 30\necho never\n", true);
  auto m = failure(plugin(p), 300ms);
  EXPECT_NE(m.find("did not finish within 0.3 s"), std::string::npos) << m;
}

TEST(ExecCredential, MissingBinary) {
  auto m = failure(plugin("mcpk-no-such-credential-plugin"));
  EXPECT_NE(m.find("could not be run"), std::string::npos) << m;
  EXPECT_NE(m.find("mcpk-no-such-credential-plugin"), std::string::npos) << m;
  EXPECT_NE(failure(plugin("")).find("no command"), std::string::npos);
}

TEST(ExecCredential, RejectsUnexpectedOutput) {
  TempDir d;
  auto garbage = d.write("garbage.sh", "#!/bin/sh\necho 'hello, not json'\n", true);
  EXPECT_NE(failure(plugin(garbage)).find("no ExecCredential JSON"), std::string::npos);

  auto nostatus = d.write("nostatus.sh", R"(#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}'
)",
                          true);
  EXPECT_NE(failure(plugin(nostatus)).find("no status"), std::string::npos);

  auto empty = d.write("empty.sh", R"(#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}'
)",
                       true);
  EXPECT_NE(failure(plugin(empty)).find("neither a token nor a client certificate"), std::string::npos);

  auto wrong_version = d.write("wrongver.sh", R"(#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}}'
)",
                               true);
  auto m = failure(plugin(wrong_version));
  EXPECT_NE(m.find("v1beta1"), std::string::npos) << m;

  auto bad_time = d.write("badtime.sh", R"(#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"tomorrow"}}'
)",
                          true);
  EXPECT_NE(failure(plugin(bad_time)).find("expirationTimestamp"), std::string::npos);
}

TEST(ExecCredential, LargeOutputIsCapped) {
  TempDir d;
  // 4 MiB of noise on stdout: read and dropped past the cap, never buffered whole; the
  // result is then not JSON.
  auto p = d.write("big.sh", "#!/bin/sh\nhead -c 4194304 /dev/zero | tr '\\0' x\n", true);
  EXPECT_NE(failure(plugin(p)).find("no ExecCredential JSON"), std::string::npos);
}

TEST(ExecCredential, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05Z"), utc(2026, 1, 2, 3, 4, 5));
  EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.123456Z"), utc(2026, 1, 2, 3, 4, 5));
  EXPECT_EQ(parse_rfc3339("2026-01-02T05:04:05+02:00"), utc(2026, 1, 2, 3, 4, 5));
  EXPECT_EQ(parse_rfc3339("2026-01-01T22:34:05-04:30"), utc(2026, 1, 2, 3, 4, 5));
  EXPECT_FALSE(parse_rfc3339("tomorrow").has_value());
  EXPECT_FALSE(parse_rfc3339("").has_value());
}

// --- through ApiTransport: single flight and the timeout -------------------------------------

namespace {
struct TransportRun {
  boost::asio::io_context io;
  std::unique_ptr<ApiTransport> t;
  TransportRun(const std::string& plugin_path, std::chrono::milliseconds timeout = 10s) {
    RestConfig c;
    c.context = "exec";
    c.cluster.server = "https://127.0.0.1:1";
    c.auth.exec = plugin(plugin_path);
    TransportOptions o;
    o.exec_timeout = timeout;
    t = std::make_unique<ApiTransport>(io.get_executor(), c, o);
  }
  // N concurrent authorization() calls; returns the headers or "error: ..." per call.
  std::vector<std::string> authorize(int n) {
    std::vector<std::string> out(n);
    for (int i = 0; i < n; ++i)
      boost::asio::co_spawn(io, t->authorization(), [&out, i](std::exception_ptr ep, std::string h) {
        if (!ep) {
          out[i] = h;
          return;
        }
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          out[i] = std::string("error: ") + e.what();
        }
      });
    io.restart();
    io.run();
    return out;
  }
};

int lines(const std::string& path) {
  std::ifstream f(path);
  int n = 0;
  for (std::string l; std::getline(f, l);) ++n;
  return n;
}

bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");  // a zombie waiting for init counts as gone
  std::string s;
  std::getline(st, s);
  auto p = s.rfind(')');
  return p != std::string::npos && p + 2 < s.size() && s[p + 2] == 'Z';
}
}  // namespace

// 20 requests at once find no token: the plugin runs once and all 20 get its token.
TEST(ExecCredential, ConcurrentCallersShareOneRun) {
  TempDir d;
  auto counter = d.str() + "/runs";
  auto p = d.write("count.sh", "#!/bin/sh\necho run >> '" + counter + R"('
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"shared"}}'
)",
                   true);
  TransportRun r(p);
  auto got = r.authorize(20);
  for (auto& h : got) EXPECT_EQ(h, "Bearer shared");
  EXPECT_EQ(lines(counter), 1) << "the plugin ran once per caller";
  // Cached afterwards.
  r.authorize(5);
  EXPECT_EQ(lines(counter), 1);
}

// A failure is shared the same way: one run, every waiter gets its error.
TEST(ExecCredential, ConcurrentCallersShareOneFailure) {
  TempDir d;
  auto counter = d.str() + "/runs";
  auto p = d.write("fail.sh", "#!/bin/sh\necho run >> '" + counter + "'\necho 'login required' >&2\nexit 2\n", true);
  TransportRun r(p);
  auto got = r.authorize(20);
  for (auto& h : got) EXPECT_NE(h.find("login required"), std::string::npos) << h;
  EXPECT_EQ(lines(counter), 1);
  r.authorize(1);  // not cached: the next call tries again
  EXPECT_EQ(lines(counter), 2);
}

// A plugin that never finishes: every waiter fails after the configured timeout, and the
// plugin and what it started are killed and reaped.
TEST(ExecCredential, HungPluginTimesOutThroughTheTransport) {
  TempDir d;
  auto pids = d.str() + "/pids";
  auto p =
      d.write("hang.sh", "#!/bin/sh\necho $$ > '" + pids + "'\nsleep 1000 &\necho $! >> '" + pids + "'\nwait\n", true);
  TransportRun r(p, 300ms);
  auto got = r.authorize(3);
  for (auto& h : got) EXPECT_NE(h.find("did not finish within 0.3 s"), std::string::npos) << h;
  std::ifstream f(pids);
  std::vector<pid_t> ps;
  for (pid_t x; f >> x;) ps.push_back(x);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_TRUE(process_gone(ps[0])) << "plugin " << ps[0] << " still running";
  // The grandchild got SIGKILL with the group; init reaps it in its own time.
  for (int i = 0; i < 1000 && !process_gone(ps[1]); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(process_gone(ps[1])) << "the plugin's child " << ps[1] << " still running";
}
