// Registers k8s_get_api_resources and k8s_get_cluster_health (both read-only).
#include "tools/cluster/cluster_tools.hpp"

#include "tools/common/schema.hpp"
#include "tools/registry.hpp"

namespace mk::tools {
namespace json = boost::json;

void register_cluster_tools(Registrar& reg) {
  const mcp::ToolAnnotations read{.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  reg.add({
      .name = "k8s_get_api_resources",
      .title = "List API resource types",
      .description = "List the resource types the API server offers (CRDs included), like `kubectl "
                     "api-resources`: group, version, kind, plural name, namespaced, verbs, short names, "
                     "categories. Filter by apiGroup, namespaced, verb or a search substring; refresh=true "
                     "re-reads discovery (a filter that matches nothing re-reads it once by itself).",
      .input_schema = api_resources_input_schema(),
      .output_schema = schema::output({{"resources", json::object{{"type", "array"}}}, {"count", schema::integer("")}},
                                      {"resources", "count"}),
      .annotations = read,
      .verb = op::get,
      .handler = get_api_resources,
  });
  reg.add({
      .name = "k8s_get_cluster_health",
      .title = "Cluster health",
      .description = "Health of the cluster in one call: the API server's /readyz and /livez checks (each "
                     "check by name), its version, node readiness (Ready/NotReady counts, reasons of "
                     "not-ready nodes) and API latency (min/median of a few small GETs). A sub-check the "
                     "caller may not read is reported as forbidden rather than failing the call.",
      .input_schema = cluster_health_input_schema(),
      .output_schema = schema::output({{"status", schema::string("healthy, degraded or unhealthy")},
                                       {"readyz", schema::any_object("")},
                                       {"livez", schema::any_object("")},
                                       {"version", schema::any_object("")},
                                       {"nodes", schema::any_object("")},
                                       {"latency", schema::any_object("")}},
                                      {"status", "readyz", "livez", "nodes"}),
      .annotations = read,
      .verb = op::get,
      .handler = get_cluster_health,
  });
}

}  // namespace mk::tools
