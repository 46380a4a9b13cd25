#pragma once
// Which API server a call talks to: kubeconfig contexts (one cached client per context) or
// the in-cluster service account. A context switch is per MCP session and never written back
// to the user's kubeconfig.
//
// The kubeconfig is parsed on a background thread started by the constructor, so a stdio
// client's `initialize` is answered without waiting for YAML parsing; the first accessor that
// needs it waits. A load error (no kubeconfig, unknown --context) is logged once and then
// reported by every call that needs a cluster; `check()` surfaces it eagerly.
#include "k8s/client.hpp"
#include "k8s/kubeconfig.hpp"

#include "pipeline/identity.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>

namespace mk::pipeline {

struct ClustersOptions {
  bool in_cluster = false;
  std::string context;  // initial context ("" => the kubeconfig's current-context)
  k8s::TransportOptions transport;
  // Downstream OAuth: every call reaches the API server with the caller's upstream ID token
  // (Identity::upstream_token), never with the server's own credentials.
  bool downstream_oauth = false;
  std::size_t max_user_clients = 256;            // per-user clients kept (one TLS pool each)
  std::chrono::seconds user_client_ttl{5 * 60};  // ... and for how long after creation
};

class Clusters {
 public:
  Clusters(boost::asio::any_io_executor ex, ClustersOptions opts);

  bool in_cluster() const { return in_cluster_; }
  boost::asio::any_io_executor executor() const { return ex_; }
  const k8s::Kubeconfig& kubeconfig() const { return loaded().kubeconfig; }
  const std::string& default_context() const;
  bool has_context(const std::string& name) const;

  // A client for the named context ("" => default), acting for `who`: with downstream OAuth
  // the context's server and CA with `who`'s upstream token as bearer (no client certificate
  // or exec plugin of the kubeconfig user), cached by (context, subject, token hash); without
  // a user token it fails closed (Errc::unauthorized). Otherwise the context's own
  // credentials. Throws Errc::not_found for unknown names.
  std::shared_ptr<k8s::Client> client(const std::string& context, const Identity& who);
  // The server's own credentials, also with downstream OAuth (the readiness probe); tool calls
  // always go through the overload above. An overload, not a default argument: g++ 12
  // destroys a default-argument temporary twice when the call is in a coroutine.
  std::shared_ptr<k8s::Client> client(const std::string& context);

  // Waits for the configuration and throws its error, if any (servers that must fail fast
  // call this before accepting connections).
  void check();

 private:
  struct Loaded {
    k8s::Kubeconfig kubeconfig;
    std::string default_context;
  };
  static Loaded load(const std::vector<std::string>& paths, const std::string& context);
  const Loaded& loaded() const { return loaded_.get(); }  // rethrows the load error

  boost::asio::any_io_executor ex_;
  k8s::TransportOptions topts_;
  bool in_cluster_;
  std::string in_cluster_name_ = "in-cluster";
  std::shared_future<Loaded> loaded_;                            // kubeconfig mode only
  std::map<std::string, std::shared_ptr<k8s::Client>> clients_;  // bounded by the contexts that exist
  std::shared_ptr<k8s::Client> user_client(const std::string& context, const Identity& who);
  struct UserClient {
    std::shared_ptr<k8s::Client> client;
    std::chrono::steady_clock::time_point created;
  };
  bool downstream_;
  std::size_t max_user_clients_;
  std::chrono::seconds user_client_ttl_;
  std::map<std::string, UserClient> user_clients_;  // bounded: max_user_clients_, TTL
};

}  // namespace mk::pipeline
