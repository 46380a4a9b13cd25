#include "k8s/exec_credential.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

extern char** environ;

namespace mk::k8s {
namespace json = boost::json;

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 ||
      std::sscanf(std::string(s.substr(0, 19)).c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6)
    return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    rest.remove_prefix(i);
  }
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-') && rest.size() >= 6) {
    int oh = std::atoi(std::string(rest.substr(1, 2)).c_str()), om = std::atoi(std::string(rest.substr(4, 2)).c_str());
    auto off = std::chrono::hours(oh) + std::chrono::minutes(om);
    t = rest[0] == '+' ? t - off : t + off;
  }
  return t;
}

ExecCredential run_exec_plugin(const ExecConfig& cfg, const ClusterInfo& cluster, std::chrono::milliseconds timeout) {
  if (cfg.command.empty()) fail(Errc::unauthorized, "exec credential plugin: no command configured");
  std::string api = cfg.api_version.empty() ? "client.authentication.k8s.io/v1" : cfg.api_version;
  json::object spec{{"interactive", false}};
  if (cfg.provide_cluster_info) {
    json::object c{{"server", cluster.server}, {"insecure-skip-tls-verify", cluster.insecure_skip_tls_verify}};
    if (!cluster.ca_pem.empty()) c["certificate-authority-data"] = base64_encode(cluster.ca_pem);
    if (!cluster.tls_server_name.empty()) c["tls-server-name"] = cluster.tls_server_name;
    spec["cluster"] = std::move(c);
  }
  std::string exec_info =
      json::serialize(json::object{{"apiVersion", api}, {"kind", "ExecCredential"}, {"spec", std::move(spec)}});

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    fail(Errc::internal, fmt::format("exec credential plugin: pipe: {}", std::strerror(errno)));
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    fail(Errc::internal, fmt::format("exec credential plugin: pipe: {}", std::strerror(e)));
  }
  // The plugin's env entries and KUBERNETES_EXEC_INFO replace inherited variables of the same
  // name (with duplicates, getenv() would see the inherited one first).
  auto overridden = [&cfg](std::string_view entry) {
    auto name = entry.substr(0, entry.find('='));
    if (name == "KUBERNETES_EXEC_INFO") return true;
    for (auto& kv : cfg.env)
      if (kv.first == name) return true;
    return false;
  };
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e)
    if (!overridden(*e)) env_store.emplace_back(*e);
  for (auto& [k, v] : cfg.env) env_store.push_back(k + "=" + v);
  env_store.push_back("KUBERNETES_EXEC_INFO=" + exec_info);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_store{cfg.command};
  for (auto& a : cfg.args) argv_store.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
    fail(Errc::internal, "exec credential plugin: fork failed");
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so a timeout also kills what a wrapper script started
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  std::string sout, serr;
  const std::size_t cap = 1 << 20;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int r = poll(fds, 2, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      auto& dst = i == 0 ? sout : serr;
      if (dst.size() < cap) dst.append(buf, static_cast<std::size_t>(n));
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    fail(Errc::unauthorized,
         fmt::format("exec credential plugin {} did not finish within {} s", cfg.command, timeout.count() / 1000.0));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && sout.empty())
    fail(Errc::unauthorized,
         fmt::format("exec credential plugin {} could not be run (not found in PATH?)", cfg.command));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (serr.size() > 512) serr.resize(512);
    fail(Errc::unauthorized, fmt::format("exec credential plugin {} failed (status {}): {}", cfg.command,
                                         WIFEXITED(status) ? WEXITSTATUS(status) : -1, serr));
  }
  boost::system::error_code ec;
  auto v = json::parse(sout, ec);
  if (ec || !v.is_object()) fail(Errc::unauthorized, "exec credential plugin printed no ExecCredential JSON");
  if (auto* av = v.as_object().if_contains("apiVersion"); av && av->is_string() && av->as_string() != api)
    fail(Errc::unauthorized, fmt::format("exec credential plugin {} returned apiVersion {}, but the kubeconfig "
                                         "asks for {}",
                                         cfg.command, std::string_view(av->as_string()), api));
  auto* st = v.as_object().if_contains("status");
  if (!st || !st->is_object()) fail(Errc::unauthorized, "exec credential plugin: ExecCredential has no status");
  ExecCredential cred;
  auto& s = st->as_object();
  if (auto* t = s.if_contains("token"); t && t->is_string()) cred.token = t->as_string();
  if (auto* c = s.if_contains("clientCertificateData"); c && c->is_string()) cred.client_cert_pem = c->as_string();
  if (auto* k = s.if_contains("clientKeyData"); k && k->is_string()) cred.client_key_pem = k->as_string();
  if (auto* e = s.if_contains("expirationTimestamp"); e && e->is_string()) {
    cred.expiry = parse_rfc3339(e->as_string());
    if (!cred.expiry)
      fail(Errc::unauthorized, fmt::format("exec credential plugin {}: invalid expirationTimestamp \"{}\"", cfg.command,
                                           std::string_view(e->as_string())));
  }
  if (cred.token.empty() && cred.client_cert_pem.empty())
    fail(Errc::unauthorized, "exec credential plugin returned neither a token nor a client certificate");
  return cred;
}

}  // namespace mk::k8s
