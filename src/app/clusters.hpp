#pragma once
// Which API server a call talks to: kubeconfig contexts (one cached client per context) or
// the in-cluster service account. A context switch is per MCP session and never written back
// to the user's kubeconfig.
#include "app/config.hpp"
#include "k8s/client.hpp"
#include "k8s/kubeconfig.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <map>
#include <memory>
#include <string>

namespace mk {

class Clusters {
 public:
  Clusters(boost::asio::any_io_executor ex, const Config& cfg);

  bool in_cluster() const { return in_cluster_; }
  const k8s::Kubeconfig& kubeconfig() const { return kubeconfig_; }
  const std::string& default_context() const { return default_context_; }
  bool has_context(const std::string& name) const;

  // A client for the named context ("" => default). Throws Errc::not_found for unknown names.
  std::shared_ptr<k8s::Client> client(const std::string& context);

 private:
  boost::asio::any_io_executor ex_;
  k8s::TransportOptions topts_;
  bool in_cluster_;
  k8s::Kubeconfig kubeconfig_;
  std::string default_context_;
  std::map<std::string, std::shared_ptr<k8s::Client>> clients_;  // bounded by the contexts that exist
};

}  // namespace mk
