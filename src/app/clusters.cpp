#include "app/clusters.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>

namespace mk {

Clusters::Clusters(boost::asio::any_io_executor ex, const Config& cfg)
    : ex_(std::move(ex)), in_cluster_(cfg.in_cluster) {
  topts_.qps = cfg.qps;
  topts_.burst = cfg.burst;
  topts_.request_timeout = cfg.request_timeout;
  topts_.user_agent = std::string("mcp-kubernetes/") + MCPK_VERSION;
  if (in_cluster_) {
    default_context_ = "in-cluster";
    clients_[default_context_] = std::make_shared<k8s::Client>(ex_, k8s::in_cluster_config(), topts_);
    return;
  }
  auto paths = k8s::default_kubeconfig_paths();
  kubeconfig_ = k8s::load_kubeconfig(paths);
  if (kubeconfig_.sources.empty()) {
    std::string list;
    for (auto& p : paths) list += (list.empty() ? "" : ", ") + p;
    fail(Errc::invalid_argument,
         fmt::format("no kubeconfig found (looked at: {}); set KUBECONFIG or use --in-cluster", list));
  }
  default_context_ = cfg.context.empty() ? kubeconfig_.current_context : cfg.context;
  if (default_context_.empty() && !kubeconfig_.contexts.empty()) default_context_ = kubeconfig_.contexts.front().name;
  if (!has_context(default_context_))
    fail(Errc::invalid_argument, fmt::format("context \"{}\" not found in kubeconfig", default_context_));
}

bool Clusters::has_context(const std::string& name) const {
  if (in_cluster_) return name == "in-cluster";
  return kubeconfig_.find_context(name) != nullptr;
}

std::shared_ptr<k8s::Client> Clusters::client(const std::string& context) {
  const std::string& name = context.empty() ? default_context_ : context;
  if (auto it = clients_.find(name); it != clients_.end()) return it->second;
  if (in_cluster_) fail(Errc::invalid_argument, "contexts are not available with --in-cluster");
  auto rc = k8s::rest_config_for(kubeconfig_, name);
  auto c = std::make_shared<k8s::Client>(ex_, std::move(rc), topts_);
  clients_[name] = c;
  return c;
}

}  // namespace mk
