#pragma once
// Fleet-wide calls (--enable-capi): one read tool run on several workload clusters. Which
// clusters (cluster "*", clusters [...], clusterSelector), the schemas the tools get, and the
// one answer gathered from the per-cluster results. Pure functions, unit-tested; the fan-out
// itself is in pipeline.cpp.
#include "mcp/tool.hpp"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mk::pipeline {

// A workload cluster as a call names it: "name", or "namespace/name" (kubectl's own form) when
// the name is used in several namespaces. `ns` is "" when not given.
struct ClusterRef {
  std::string ns, name;
  bool operator==(const ClusterRef&) const = default;
};

// What a call's cluster arguments ask for.
struct ClusterTarget {
  enum class Kind { management, one, all, list, selector } kind = Kind::management;
  ClusterRef one_ref;             // one
  std::vector<ClusterRef> names;  // list
  std::string selector;           // selector
  bool fleet() const { return kind == Kind::all || kind == Kind::list || kind == Kind::selector; }
};

inline constexpr std::size_t kMaxFleetNames = 50;  // clusters: [...] (a longer list is a selector's job)
// "namespace/name": two DNS labels and the slash.
inline constexpr std::size_t kMaxClusterRef = 63 + 1 + 63;

// "name" or "namespace/name", each part a DNS label; throws Errc::invalid_argument naming `what`.
ClusterRef parse_cluster_ref(std::string_view s, std::string_view what);

// Reads cluster / clusters / clusterSelector; throws Errc::invalid_argument when more than one
// is given, with context/kubeContext, or when a name is not a cluster reference (parse_cluster_ref).
ClusterTarget cluster_target(const boost::json::object& args);

// The input-schema properties added to a Kubernetes tool (`fleet`: the read tools).
void add_cluster_arguments(boost::json::object& input_schema, bool fleet);
// The output schema of a fleet-capable tool: its own or the fleet answer's.
boost::json::object fleet_output_schema(boost::json::object original);

struct ClusterOutcome {
  std::string cluster, ns;
  bool ok = false;
  boost::json::value result;  // structuredContent of the cluster's answer (ok)
  std::string text;           // its text (ok) or the error (not ok)
};

// One section per cluster in text; {"clusters":[...],"summary":{...}} as structuredContent;
// isError only when every cluster failed.
mcp::ToolResult merge_fleet(const std::vector<ClusterOutcome>& outcomes);

}  // namespace mk::pipeline
