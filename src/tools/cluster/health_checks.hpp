#pragma once
// The pure parts of k8s_get_cluster_health: the apiserver's verbose /readyz and /livez text,
// node readiness tallies and latency statistics. No I/O, so unit-testable.
#include <boost/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mk::tools::health {

namespace json = boost::json;

struct Check {
  std::string name;
  bool ok = false;
  std::string message;  // "" for passing checks; e.g. "reason withheld" for failing ones
};

// Parses "[+]etcd ok" / "[-]etcd failed: reason withheld" lines; other lines are ignored.
std::vector<Check> parse_verbose(std::string_view body);

// Counts Ready/NotReady nodes; keeps details of at most `max_listed` not-ready nodes.
class NodeTally {
 public:
  explicit NodeTally(std::size_t max_listed = 50) : max_listed_(max_listed) {}
  void add(const json::object& node);
  std::size_t total() const { return total_; }
  std::size_t ready() const { return ready_; }
  std::size_t not_ready() const { return total_ - ready_; }
  json::object to_json() const;

 private:
  std::size_t max_listed_;
  std::size_t total_ = 0, ready_ = 0, unschedulable_ = 0;
  json::array not_ready_;
};

struct LatencyStats {
  double min_ms = 0, median_ms = 0, max_ms = 0;
};
LatencyStats latency_stats(std::vector<double> samples_ms);

}  // namespace mk::tools::health
