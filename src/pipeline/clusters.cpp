#include "pipeline/clusters.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>

namespace mk::pipeline {

Clusters::Clusters(boost::asio::any_io_executor ex, ClustersOptions opts)
    : ex_(std::move(ex)), topts_(std::move(opts.transport)), in_cluster_(opts.in_cluster) {
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

std::shared_ptr<k8s::Client> Clusters::client(const std::string& context) { return client(context, Identity{}); }

std::shared_ptr<k8s::Client> Clusters::client(const std::string& context, const Identity& /*who*/) {
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

void Clusters::check() {
  if (in_cluster_) client("");
  else loaded();
}

}  // namespace mk::pipeline
