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

// What a call's cluster arguments ask for.
struct ClusterTarget {
  enum class Kind { management, one, all, list, selector } kind = Kind::management;
  std::string name;                // one
  std::vector<std::string> names;  // list
  std::string selector;            // selector
  bool fleet() const { return kind == Kind::all || kind == Kind::list || kind == Kind::selector; }
};

inline constexpr std::size_t kMaxFleetNames = 50;  // clusters: [...] (a longer list is a selector's job)

// Reads cluster / clusters / clusterSelector; throws Errc::invalid_argument when more than one
// is given, with context/kubeContext, or when a name is not a DNS label.
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
