#include "pipeline/fleet.hpp"

#include "pipeline/arg_rules.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace mk::pipeline {
namespace json = boost::json;

namespace {
bool given(const json::object& args, std::string_view k) {
  auto* v = args.if_contains(k);
  if (!v || v->is_null()) return false;
  if (v->is_string()) return !v->as_string().empty();
  return true;
}
}  // namespace

ClusterRef parse_cluster_ref(std::string_view s, std::string_view what) {
  ClusterRef r;
  auto slash = s.find('/');
  if (slash != std::string_view::npos) {
    // Checked under its own name, so a refusal says which part is wrong.
    r.ns = std::string(s.substr(0, slash));
    require_valid(ArgKind::dns_label, r.ns, fmt::format("{} (namespace part of \"namespace/name\")", what));
    s.remove_prefix(slash + 1);
  }
  r.name = std::string(s);
  require_valid(ArgKind::dns_label, r.name, what);
  return r;
}

ClusterTarget cluster_target(const json::object& args) {
  ClusterTarget t;
  int n = given(args, "cluster") + given(args, "clusters") + given(args, "clusterSelector");
  if (n == 0) return t;
  if (n > 1) fail(Errc::invalid_argument, "give at most one of cluster, clusters and clusterSelector");
  if (given(args, "context") || given(args, "kubeContext"))
    fail(Errc::invalid_argument,
         "context names a kubeconfig context of the management cluster; it cannot be combined with cluster, "
         "clusters or clusterSelector");
  if (auto* v = args.if_contains("cluster"); v && v->is_string() && !v->as_string().empty()) {
    std::string name(v->as_string());
    if (name == "*") {
      t.kind = ClusterTarget::Kind::all;
      return t;
    }
    t.one_ref = parse_cluster_ref(name, "cluster");
    t.kind = ClusterTarget::Kind::one;
    return t;
  }
  if (auto* v = args.if_contains("clusters"); v && v->is_array()) {
    auto& a = v->as_array();
    if (a.empty()) fail(Errc::invalid_argument, "clusters must name at least one cluster");
    if (a.size() > kMaxFleetNames)
      fail(Errc::invalid_argument,
           fmt::format("clusters names {} clusters; at most {} (use clusterSelector or cluster \"*\")", a.size(),
                       kMaxFleetNames));
    t.kind = ClusterTarget::Kind::list;
    for (auto& x : a) {
      if (!x.is_string()) fail(Errc::invalid_argument, "clusters must be a list of cluster names");
      auto ref = parse_cluster_ref(std::string(x.as_string()), "clusters[]");
      if (std::find(t.names.begin(), t.names.end(), ref) == t.names.end()) t.names.push_back(std::move(ref));
    }
    return t;
  }
  auto& sel = args.at("clusterSelector");
  if (!sel.is_string() || sel.as_string().size() > 1024)
    fail(Errc::invalid_argument, "clusterSelector must be a label selector of at most 1024 characters");
  t.kind = ClusterTarget::Kind::selector;
  t.selector = std::string(sel.as_string());
  return t;
}

void add_cluster_arguments(json::object& s, bool fleet) {
  auto& props = s["properties"].as_object();
  // Write tools declare the fleet arguments too, so that a fleet target gets the pipeline's
  // clear "fleet-wide calls are read-only" rather than "unknown argument".
  std::string_view only_reads = fleet ? "" : " (read tools only; this tool refuses it)";
  props["cluster"] = json::object{
      {"type", "string"},
      {"maxLength", kMaxClusterRef},
      {"description", fmt::format("Workload cluster (a Cluster API Cluster's name, or \"namespace/name\" when the "
                                  "name is used in several namespaces; capi_list_clusters lists them) to run this "
                                  "call on; absent = the management cluster. \"*\" = every workload cluster{}",
                                  only_reads)}};
  props["clusters"] = json::object{
      {"type", "array"},
      {"items", json::object{{"type", "string"}, {"maxLength", kMaxClusterRef}}},
      {"minItems", 1},
      {"maxItems", kMaxFleetNames},
      {"description",
       fmt::format("Run this read on each of these workload clusters (names, or \"namespace/name\"); one answer "
                   "with a section per cluster{}",
                   only_reads)}};
  props["clusterSelector"] = json::object{
      {"type", "string"},
      {"maxLength", 1024},
      {"description",
       fmt::format("Run this read on every workload cluster whose Cluster object matches this label selector{}",
                   only_reads)}};
}

json::object fleet_output_schema(json::object original) {
  json::object entry{{"type", "object"},
                     {"properties", json::object{{"cluster", json::object{{"type", "string"}}},
                                                 {"namespace", json::object{{"type", "string"}}},
                                                 {"ok", json::object{{"type", "boolean"}}},
                                                 {"result", json::object{{"type", "object"}}},
                                                 {"error", json::object{{"type", "string"}}}}},
                     {"required", json::array{"cluster", "ok"}}};
  json::object fleet{
      {"type", "object"},
      {"properties",
       json::object{
           {"clusters", json::object{{"type", "array"}, {"items", std::move(entry)}}},
           {"summary", json::object{{"type", "object"},
                                    {"properties", json::object{{"total", json::object{{"type", "integer"}}},
                                                                {"succeeded", json::object{{"type", "integer"}}},
                                                                {"failed", json::object{{"type", "integer"}}}}},
                                    {"required", json::array{"total", "succeeded", "failed"}}}}}},
      {"required", json::array{"clusters", "summary"}}};
  return {{"type", "object"}, {"anyOf", json::array{std::move(original), std::move(fleet)}}};
}

mcp::ToolResult merge_fleet(const std::vector<ClusterOutcome>& outcomes) {
  json::array clusters;
  std::string text;
  std::size_t ok = 0;
  // A name used in several namespaces is headed "namespace/name", so the sections stay distinct.
  auto shared_name = [&](const ClusterOutcome& o) {
    return std::count_if(outcomes.begin(), outcomes.end(), [&](auto& x) { return x.cluster == o.cluster; }) > 1;
  };
  for (auto& o : outcomes) {
    json::object e{{"cluster", o.cluster}, {"namespace", o.ns}, {"ok", o.ok}};
    if (o.ok) {
      ++ok;
      e["result"] = o.result.is_object() ? o.result : json::value(json::object{});
    } else {
      e["error"] = o.text;
    }
    clusters.push_back(std::move(e));
    if (!text.empty()) text += "\n\n";
    if (shared_name(o) && !o.ns.empty()) text += fmt::format("## cluster {}/{}\n", o.ns, o.cluster);
    else text += fmt::format("## cluster {}\n", o.cluster);
    text += o.ok ? o.text : "error: " + o.text;
  }
  if (outcomes.empty()) text = "no workload cluster matched";
  std::size_t failed = outcomes.size() - ok;
  json::object structured{{"clusters", std::move(clusters)},
                          {"summary", json::object{{"total", outcomes.size()}, {"succeeded", ok}, {"failed", failed}}}};
  mcp::ToolResult r;
  r.structured = std::move(structured);
  r.text = std::move(text);
  r.is_error = !outcomes.empty() && ok == 0;
  return r;
}

}  // namespace mk::pipeline
