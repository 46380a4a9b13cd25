#include "pipeline/clusters.hpp"

#include "instrumentation/metrics.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <openssl/sha.h>

#include <algorithm>

namespace mk::pipeline {

Clusters::Clusters(boost::asio::any_io_executor ex, ClustersOptions opts)
    : ex_(std::move(ex)), topts_(std::move(opts.transport)), in_cluster_(opts.in_cluster),
      downstream_(opts.downstream_oauth), max_user_clients_(std::max<std::size_t>(1, opts.max_user_clients)),
      user_client_ttl_(opts.user_client_ttl) {
  if (in_cluster_) return;  // the service-account client is built on first use (or by check())
  // Environment lookups stay on this thread; the thread only reads files and parses.
  loaded_ = std::async(std::launch::async, [paths = k8s::default_kubeconfig_paths(), context = opts.context] {
              try {
                return load(paths, context);
              } catch (const std::exception& e) {
                log::error("{}", e.what());
                throw;
              }
            }).share();
}

Clusters::Loaded Clusters::load(const std::vector<std::string>& paths, const std::string& context) {
  Loaded l;
  l.kubeconfig = k8s::load_kubeconfig(paths);
  if (l.kubeconfig.sources.empty()) {
    std::string list;
    for (auto& p : paths) list += (list.empty() ? "" : ", ") + p;
    fail(Errc::invalid_argument,
         fmt::format("no kubeconfig found (looked at: {}); set KUBECONFIG or use --in-cluster", list));
  }
  l.default_context = context.empty() ? l.kubeconfig.current_context : context;
  if (l.default_context.empty() && !l.kubeconfig.contexts.empty())
    l.default_context = l.kubeconfig.contexts.front().name;
  if (!l.kubeconfig.find_context(l.default_context))
    fail(Errc::invalid_argument, fmt::format("context \"{}\" not found in kubeconfig", l.default_context));
  return l;
}

const std::string& Clusters::default_context() const {
  return in_cluster_ ? in_cluster_name_ : loaded().default_context;
}

bool Clusters::has_context(const std::string& name) const {
  if (in_cluster_) return name == in_cluster_name_;
  return kubeconfig().find_context(name) != nullptr;
}

std::shared_ptr<k8s::Client> Clusters::client(const std::string& context, const Identity& who) {
  if (downstream_) return user_client(context, who);
  return client(context);
}

std::shared_ptr<k8s::Client> Clusters::client(const std::string& context) {
  const std::string& name = context.empty() ? default_context() : context;
  if (auto it = clients_.find(name); it != clients_.end()) return it->second;
  std::shared_ptr<k8s::Client> c;
  if (in_cluster_) {
    if (name != in_cluster_name_) fail(Errc::invalid_argument, "contexts are not available with --in-cluster");
    c = std::make_shared<k8s::Client>(ex_, k8s::in_cluster_config(), topts_);
  } else {
    c = std::make_shared<k8s::Client>(ex_, k8s::rest_config_for(kubeconfig(), name), topts_);
  }
  clients_[name] = c;
  return c;
}

namespace {
std::string token_hash(const std::string& token) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), md);
  std::string hex;
  for (unsigned char c : md) hex += fmt::format("{:02x}", c);
  return hex;
}
void count_downstream(std::string_view result) {
  metrics::Registry::global().inc("oauth_downstream_auth_total", {{"result", std::string(result)}});
}
}  // namespace

std::shared_ptr<k8s::Client> Clusters::user_client(const std::string& context, const Identity& who) {
  if (who.upstream_token.empty()) {
    count_downstream("no_token");
    fail(
        Errc::unauthorized,
        "downstream OAuth: this call carries no user token (sign in again); the server's own credentials are not used");
  }
  const std::string& name = context.empty() ? default_context() : context;
  if (!has_context(name)) fail(Errc::not_found, fmt::format("context \"{}\" not found", name));
  auto key = name + '\n' + who.subject + '\n' + token_hash(who.upstream_token);
  auto now = std::chrono::steady_clock::now();
  if (auto it = user_clients_.find(key); it != user_clients_.end() && now - it->second.created < user_client_ttl_) {
    count_downstream("success");
    return it->second.client;
  }
  // Room: expired entries first, then the oldest (a caller holding it keeps its own reference).
  std::erase_if(user_clients_, [&](auto& e) { return now - e.second.created >= user_client_ttl_; });
  while (user_clients_.size() >= max_user_clients_) {
    auto oldest = std::min_element(user_clients_.begin(), user_clients_.end(),
                                   [](auto& a, auto& b) { return a.second.created < b.second.created; });
    user_clients_.erase(oldest);
  }
  k8s::RestConfig cfg;
  try {
    cfg = in_cluster_ ? k8s::in_cluster_config() : k8s::rest_config_for(kubeconfig(), name);
  } catch (...) {
    count_downstream("failure");
    throw;
  }
  // The user's ID token is a bearer credential every cluster trusting the provider accepts:
  // never send it in clear text or to a server whose certificate is not verified.
  if (!cfg.cluster.server.starts_with("https://") || cfg.cluster.insecure_skip_tls_verify) {
    count_downstream("failure");
    fail(Errc::policy_denied,
         fmt::format("downstream OAuth: context \"{}\" does not use verified HTTPS (https:// server, no "
                     "insecure-skip-tls-verify); the user's token is not sent there",
                     name));
  }
  cfg.auth = k8s::AuthInfo{};  // only the user's token: no client cert, exec plugin or impersonation
  cfg.auth.token = who.upstream_token;
  auto c = std::make_shared<k8s::Client>(ex_, std::move(cfg), topts_);
  user_clients_[key] = UserClient{c, now};
  count_downstream("success");
  return c;
}

void Clusters::check() {
  if (in_cluster_) client("");
  else loaded();
}

}  // namespace mk::pipeline
