#pragma once
// Workload clusters reached through the management cluster (Cluster API): discovery of
// `cluster.x-k8s.io` Cluster objects with the server's own credentials, and the client
// factory for one cluster acting for one caller (impersonation, SSO passthrough or local),
// cached in a bounded ClientCache. Knows no tools and no pipeline.
#include "federation/access.hpp"
#include "federation/client_cache.hpp"
#include "federation/cluster_info.hpp"
#include "federation/settings.hpp"
#include "k8s/client.hpp"
#include "util/identity.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mk::federation {

enum class AuthMode { impersonation, sso_passthrough };

struct Options {
  AuthMode mode = AuthMode::impersonation;
  // With OAuth the caller is a signed-in user; without it ("local mode") impersonation mode
  // uses the Secret's credentials as they are.
  bool oauth = false;
  std::string ca_configmap_suffix = "-ca-public";
  GroupMappings group_mappings;
  std::chrono::milliseconds cache_ttl{10 * 60 * 1000};
  std::size_t cache_max_entries = 1000;
  // The Cluster list is read once per this long: a fleet call or a burst of calls does not
  // list N times, and a new cluster shows up within seconds.
  std::chrono::milliseconds list_ttl{5000};
  k8s::TransportOptions transport;  // connect and request timeouts, QPS and burst for workload clusters
  // A signed-in user sees and uses only the Cluster objects the management cluster's RBAC lets
  // them get (or list in their namespace); none = every user sees every cluster.
  AccessCheck access = AccessCheck::rbac;
  // Access decisions are reused this long: a fleet call or a burst of calls asks once, and a
  // removed binding takes effect within half a minute (kubectl's own discovery is staler).
  std::chrono::milliseconds access_ttl{30000};
  // Users x namespaces x (list + a few gets); ~300 bytes each, so at most a few MB.
  std::size_t access_max_entries = 10000;
  // The reviews' own client (the management cluster's server and credentials): its own rate
  // limit and connections, so a burst of reviews never waits on, or drains, the management
  // client's --qps-limit budget. App gives it the management client's options.
  k8s::TransportOptions review_transport;
};

class Federation {
 public:
  // `mc` gives the management cluster's client with the server's own credentials.
  Federation(boost::asio::any_io_executor ex, Options o, std::function<std::shared_ptr<k8s::Client>()> mc);

  const Options& options() const { return opts_; }
  // "impersonation", "sso-passthrough" or "local".
  std::string mode_name() const;
  // How a call for `who` reaches a workload cluster, for error messages: "impersonating
  // alice@example.com", "as alice@example.com via SSO", "local credentials".
  std::string describe(const Identity& who) const;

  // The Clusters on the management cluster (all namespaces) that `who` may see (see
  // Options::access), optionally filtered by a label selector (passed to the API server). The
  // unfiltered list is cached for list_ttl. A failed access check throws (fail closed).
  boost::asio::awaitable<std::vector<ClusterInfo>> list(std::string label_selector, Identity who);
  // One cluster by name (and namespace when given) that `who` may see. Errc::not_found naming
  // capi_list_clusters, the same for a cluster `who` may not see as for a missing one;
  // Errc::invalid_argument listing the namespaces when the name is in several.
  // The access check asks the same questions whether or not the name exists (AccessChecker::named).
  boost::asio::awaitable<ClusterInfo> find(std::string name, std::string ns, Identity who);
  // The same, drawing on `budget` (the names of one fleet call share one).
  boost::asio::awaitable<ClusterInfo> find(std::string name, std::string ns, Identity who,
                                           std::shared_ptr<AccessBudget> budget);
  // Whether calls for `who` are limited by the management cluster's RBAC (a signed-in user,
  // or any call when OAuth is on, and --capi-access-check rbac).
  bool checks_access(const Identity& who) const;
  // A client for `c` acting for `who` (cached). Throws with the cluster and identity named.
  boost::asio::awaitable<std::shared_ptr<k8s::Client>> client(ClusterInfo c, Identity who);

  // Pure pieces, exposed for unit tests.
  static const ClusterInfo& pick(const std::vector<ClusterInfo>& all, const std::string& name, const std::string& ns);
  CacheKey cache_key(const ClusterInfo& c, const Identity& who) const;
  // The impersonation part of a RestConfig for `who` (mapped groups, extras).
  void impersonate(k8s::RestConfig& rc, const Identity& who) const;
  ClientCache& cache() { return cache_; }
  AccessChecker& access() { return access_; }
  // The client reviews are sent with (made on first use from the management client's config).
  std::shared_ptr<k8s::Client> review_client();

 private:
  boost::asio::awaitable<std::vector<ClusterInfo>> list_all(std::string label_selector);
  // Who the access check asks about; throws Errc::unauthorized without a usable user.
  AccessSubject access_subject_of(const Identity& who) const;
  // POSTs a SubjectAccessReview to the management cluster with the server's own credentials.
  boost::asio::awaitable<boost::json::value> review(boost::json::object body);
  boost::asio::awaitable<k8s::ResourceInfo> cluster_resource(std::shared_ptr<k8s::Client> mc);
  boost::asio::awaitable<k8s::RestConfig> rest_config(const ClusterInfo& c, const Identity& who);

  boost::asio::any_io_executor ex_;
  Options opts_;
  std::function<std::shared_ptr<k8s::Client>()> mc_;
  ClientCache cache_;
  AccessChecker access_;
  std::shared_ptr<k8s::Client> review_client_;
  std::vector<ClusterInfo> listed_;
  std::chrono::steady_clock::time_point listed_at_{};
  bool have_list_ = false;
};

}  // namespace mk::federation
