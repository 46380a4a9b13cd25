#pragma once
// Prometheus metrics in one place: a tiny registry of counters, gauges and histograms with
// labels, rendered in the text exposition format (0.0.4). Metric names follow the original
// server's so existing dashboards keep working.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mk::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Registry {
 public:
  static Registry& global();

  void inc(const std::string& name, const Labels& labels, double by = 1);
  void set(const std::string& name, const Labels& labels, double value);
  void add(const std::string& name, const Labels& labels, double delta);  // gauges
  void observe(const std::string& name, const Labels& labels, double seconds);
  // Declares help text and type; unknown names render as untyped.
  void describe(const std::string& name, const std::string& type, const std::string& help);

  std::string render() const;

  // A copy of every family, for exporters other than the text format (OTLP).
  struct SeriesView {
    std::string labels;                  // rendered: a="x",b="y" (values escaped)
    double value = 0;                    // counters and gauges
    std::vector<std::uint64_t> buckets;  // histograms: cumulative counts per kBuckets bound
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct FamilyView {
    std::string name, type, help;
    std::vector<SeriesView> series;
  };
  std::vector<FamilyView> snapshot() const;

 private:
  struct Series {
    double value = 0;
    std::vector<std::uint64_t> buckets;  // histograms only: cumulative counts per bound
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Family {
    std::string type = "untyped";
    std::string help;
    std::map<std::string, Series> series;  // key: rendered label set
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// Latency buckets (seconds) shared by every histogram.
inline constexpr std::array<double, 12> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

std::string escape_label_value(const std::string& v);

// The metric families this server exposes, registered with help and type.
void register_standard_metrics();

}  // namespace mk::metrics
