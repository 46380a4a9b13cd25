#pragma once
// What a CAPI `Cluster` object says about a workload cluster, and its health: pure functions
// of the object (v1beta2 and v1beta1 shapes), unit-tested with fixtures.
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mk::federation {

struct ClusterInfo {
  std::string name, ns;
  std::string organization;  // label giantswarm.io/organization, else the namespace minus "org-"
  std::string provider;      // from spec.infrastructureRef.kind
  std::string release;       // label release.giantswarm.io/version
  std::string kubernetes_version;
  std::string phase;  // status.phase
  bool control_plane_ready = false;
  bool infrastructure_ready = false;
  bool ready = false;  // both of the above and phase Provisioned
  std::optional<std::int64_t> node_count;
  std::optional<std::int64_t> control_plane_replicas, control_plane_ready_replicas;
  std::optional<std::int64_t> worker_replicas, worker_ready_replicas;
  std::string created_at;   // metadata.creationTimestamp (RFC 3339)
  std::string description;  // annotation cluster.giantswarm.io/description
  std::map<std::string, std::string> labels, annotations;
  std::string endpoint_host;  // spec.controlPlaneEndpoint
  int endpoint_port = 6443;
  bool deleting = false;  // metadata.deletionTimestamp set
};

ClusterInfo derive_cluster(const boost::json::object& cluster);

// "<1m", "5m", "3h", "2d" between `created_at` and `now` ("" when unknown).
std::string age(const std::string& created_at, std::chrono::system_clock::time_point now);

// The list item of capi_list_clusters (contract field names).
boost::json::object to_item(const ClusterInfo& c, std::chrono::system_clock::time_point now);

struct HealthCheck {
  std::string name, status, message;  // status: pass | fail | warn
};
struct Component {
  std::string status;  // healthy | unhealthy | unknown
  std::optional<std::int64_t> ready, total;
  std::string message;
};
struct Health {
  std::string status;  // HEALTHY | UNHEALTHY | DEGRADED | UNKNOWN
  std::string message;
  Component control_plane, infrastructure, nodes;
  std::vector<HealthCheck> checks;
};

// Deleting -> UNKNOWN, Provisioning -> DEGRADED, all good -> HEALTHY, two or more failed
// checks -> UNHEALTHY, one -> DEGRADED.
Health derive_health(const ClusterInfo& c);
boost::json::object to_json(const Health& h, const std::string& name);

// Case-insensitive "contains" used by capi_resolve_cluster and the filters.
bool icontains(std::string_view hay, std::string_view needle);
std::string lower(std::string_view s);

}  // namespace mk::federation
