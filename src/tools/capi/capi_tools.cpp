// The capi_* tools (--enable-capi): workload clusters as the management cluster's Cluster API
// objects describe them. All read-only; they take no cluster argument (they are about clusters).
#include "federation/federation.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/registry.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace mk::tools {
namespace {
namespace fed = mk::federation;

fed::Federation& federation(Env& env) {
  auto* f = env.federation();
  if (!f) fail(Errc::internal, "federation is not enabled (--enable-capi)");
  return *f;
}

constexpr const char* kLocalNote =
    "local mode: this server runs without OAuth, so workload clusters are reached with the credentials of their "
    "<cluster>-kubeconfig Secrets as they are (no impersonation of a user)";

bool ieq(std::string_view a, std::string_view b) { return fed::lower(a) == fed::lower(b); }

std::string summary_line(const fed::ClusterInfo& c) {
  return fmt::format("{}/{}  provider={} release={} k8s={} phase={} ready={} nodes={}", c.ns, c.name,
                     c.provider.empty() ? "-" : c.provider, c.release.empty() ? "-" : c.release,
                     c.kubernetes_version.empty() ? "-" : c.kubernetes_version, c.phase.empty() ? "-" : c.phase,
                     c.ready ? "yes" : "no", c.node_count ? std::to_string(*c.node_count) : "-");
}

boost::asio::awaitable<ToolResult> list_clusters(Env& env, Call& c) {
  auto& f = federation(env);
  auto& a = c.args();
  auto org = str(a, "organization"), provider = str(a, "provider"), status = str(a, "status");
  bool ready_only = flag(a, "readyOnly");
  auto limit = static_cast<std::size_t>(opt_int(a, "limit").value_or(100));
  auto selector = str(a, "labelSelector");  // named: no temporaries inside co_await (g++ 12)
  // Only the clusters the caller may see (--capi-access-check).
  auto all = co_await f.list(std::move(selector), c.identity());
  auto now = std::chrono::system_clock::now();
  json::array items;
  std::string text;
  std::size_t total = 0;
  for (auto& cl : all) {
    if (!org.empty() && !ieq(org, cl.organization) && !ieq(org, cl.ns)) continue;
    if (!provider.empty() && !ieq(provider, cl.provider)) continue;
    if (!status.empty() && !ieq(status, cl.phase)) continue;
    if (ready_only && !cl.ready) continue;
    ++total;
    if (items.size() >= limit) continue;
    items.push_back(fed::to_item(cl, now));
    text += summary_line(cl) + "\n";
  }
  json::object out{{"clusters", std::move(items)}, {"total", total}, {"authMode", f.mode_name()}};
  if (total > limit) out["truncated"] = true;
  std::string head = fmt::format("{} workload cluster(s){} (auth mode {})\n", total,
                                 total > limit ? fmt::format(", first {} shown", limit) : "", f.mode_name());
  if (f.mode_name() == "local") {
    out["note"] = kLocalNote;
    head += std::string(kLocalNote) + "\n";
  }
  co_return ToolResult{std::move(out), head + text, false};
}

json::object details(const fed::ClusterInfo& cl) {
  auto o = fed::to_item(cl, std::chrono::system_clock::now());
  json::object labels, annotations;
  for (auto& [k, v] : cl.labels) labels[k] = v;
  // Annotations may carry whole objects (last-applied-configuration): not shown.
  for (auto& [k, v] : cl.annotations)
    if (k != "kubectl.kubernetes.io/last-applied-configuration") annotations[k] = v;
  o["labels"] = std::move(labels);
  o["annotations"] = std::move(annotations);
  o["description"] = cl.description;
  o["createdAt"] = cl.created_at;
  return o;
}

boost::asio::awaitable<ToolResult> get_cluster(Env& env, Call& c) {
  auto& f = federation(env);
  auto name = str(c.args(), "name"), ns = str(c.args(), "namespace");
  auto cl = co_await f.find(std::move(name), std::move(ns), c.identity());
  auto text = summary_line(cl) + (cl.description.empty() ? "" : "\n" + cl.description);
  co_return ToolResult{details(cl), std::move(text), false};
}

boost::asio::awaitable<ToolResult> resolve_cluster(Env& env, Call& c) {
  auto& f = federation(env);
  auto pattern = str(c.args(), "pattern");
  std::string everything;
  auto all = co_await f.list(std::move(everything), c.identity());
  auto now = std::chrono::system_clock::now();
  std::vector<const fed::ClusterInfo*> exact, partial;
  for (auto& cl : all) {
    if (cl.name == pattern) exact.push_back(&cl);
    else if (fed::icontains(cl.name, pattern)) partial.push_back(&cl);
  }
  auto& hits = exact.empty() ? partial : exact;
  json::object out;
  std::string msg;
  if (hits.size() == 1) {
    out["resolved"] = true;
    out["cluster"] = fed::to_item(*hits.front(), now);
    msg = fmt::format("\"{}\" is cluster {} in namespace {}", pattern, hits.front()->name, hits.front()->ns);
  } else {
    out["resolved"] = false;
    if (hits.empty()) {
      msg = fmt::format("no cluster name matches \"{}\"; capi_list_clusters lists the clusters", pattern);
    } else {
      json::array m;
      for (auto* h : hits) m.push_back(fed::to_item(*h, now));
      out["matches"] = std::move(m);
      msg = fmt::format("\"{}\" matches {} clusters; name one of them", pattern, hits.size());
      for (auto* h : hits) msg += fmt::format("\n  {}/{}", h->ns, h->name);
    }
  }
  out["message"] = msg;
  co_return ToolResult{std::move(out), msg, false};
}

boost::asio::awaitable<ToolResult> cluster_health(Env& env, Call& c) {
  auto& f = federation(env);
  auto name = str(c.args(), "name"), ns = str(c.args(), "namespace");
  auto cl = co_await f.find(std::move(name), std::move(ns), c.identity());
  auto h = fed::derive_health(cl);
  // The API server itself, through the caller's own client (their identity, their RBAC).
  std::string probe_error;
  try {
    auto client = co_await f.client(cl, c.identity());
    k8s::Request r;
    r.target = "/readyz";
    r.timeout = std::chrono::seconds(5);
    co_await client->call(std::move(r));
  } catch (const Error& e) {
    probe_error = e.what();
  } catch (const boost::system::system_error& e) {
    if (e.code() == boost::asio::error::operation_aborted) throw;
    probe_error = e.what();
  }
  if (probe_error.empty()) {
    h.checks.push_back({"api-server-readyz", "pass", "/readyz answered ok"});
  } else {
    h.checks.push_back({"api-server-readyz", "fail", probe_error});
    if (h.status == "HEALTHY") {
      h.status = "DEGRADED";
      h.message = "the Cluster object is ready but its API server is not reachable as the caller";
    }
  }
  auto out = fed::to_json(h, cl.name);
  std::string text = fmt::format("{}: {} — {}", cl.name, h.status, h.message);
  for (auto& ck : h.checks) text += fmt::format("\n  [{}] {}: {}", ck.status, ck.name, ck.message);
  co_return ToolResult{std::move(out), std::move(text), false};
}

json::object item_schema() {
  return schema::output({{"name", schema::string("")},
                         {"namespace", schema::string("")},
                         {"organization", schema::string("")},
                         {"provider", schema::string("")},
                         {"release", schema::string("")},
                         {"kubernetesVersion", schema::string("")},
                         {"phase", schema::string("")},
                         {"ready", schema::boolean("")},
                         {"controlPlaneReady", schema::boolean("")},
                         {"infrastructureReady", schema::boolean("")},
                         {"nodeCount", json::object{{"type", json::array{"integer", "null"}}}},
                         {"age", schema::string("")}},
                        {"name", "namespace", "ready"});
}

}  // namespace

void register_capi_tools(Registrar& reg) {
  const mcp::ToolAnnotations read{.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  reg.add({
      .name = "capi_list_clusters",
      .title = "List workload clusters",
      .description = "List the workload clusters (Cluster API Cluster objects on the management cluster): name, "
                     "namespace, organization, provider, release, Kubernetes version, phase, readiness, node count, "
                     "age. Filter by organization, provider, status (phase), readyOnly or a labelSelector. Pass a "
                     "cluster's name as the cluster argument of any k8s_* tool to run it there.",
      .input_schema = schema::object(
          {{"organization",
            schema::string("Organization (label giantswarm.io/organization) or namespace, e.g. org-acme")},
           {"provider", schema::string("Infrastructure provider: aws, azure, gcp, vsphere, ...")},
           {"status", schema::string("Phase: Provisioned, Provisioning, Deleting, Failed, ...")},
           {"readyOnly", schema::boolean("Only clusters whose control plane and infrastructure are ready")},
           {"labelSelector", schema::string("Label selector over Cluster objects")},
           {"limit", schema::integer("Most clusters returned (default 100)", 1, 500)}}),
      .output_schema = schema::output({{"clusters", json::object{{"type", "array"}, {"items", item_schema()}}},
                                       {"total", schema::integer("")},
                                       {"authMode", schema::string("impersonation, sso-passthrough or local")},
                                       {"note", schema::string("")}},
                                      {"clusters", "total", "authMode"}),
      .annotations = read,
      .verb = op::list,
      .handler = list_clusters,
  });
  reg.add({
      .name = "capi_get_cluster",
      .title = "Get a workload cluster",
      .description = "One workload cluster's details: the list fields plus labels, annotations, description and "
                     "creation time. A name used in several namespaces needs the namespace.",
      .input_schema = schema::object({{"name", schema::string("Cluster name")},
                                      {"namespace", schema::string("Its namespace on the management cluster")}},
                                     {"name"}),
      .output_schema = schema::output({{"name", schema::string("")},
                                       {"namespace", schema::string("")},
                                       {"labels", schema::any_object("")},
                                       {"annotations", schema::any_object("")}},
                                      {"name", "namespace"}),
      .annotations = read,
      .verb = op::get,
      .handler = get_cluster,
  });
  reg.add({
      .name = "capi_resolve_cluster",
      .title = "Resolve a workload cluster name",
      .description = "Find the workload cluster a user means: an exact name wins, else a case-insensitive "
                     "substring of the name; several matches are listed and not resolved.",
      .input_schema = schema::object(
          {{"pattern",
            json::object{
                {"type", "string"}, {"minLength", 1}, {"maxLength", 253}, {"description", "Name or part of a name"}}}},
          {"pattern"}),
      .output_schema = schema::output({{"resolved", schema::boolean("")},
                                       {"cluster", schema::any_object("")},
                                       {"matches", json::object{{"type", "array"}}},
                                       {"message", schema::string("")}},
                                      {"resolved", "message"}),
      .annotations = read,
      .verb = op::get,
      .handler = resolve_cluster,
  });
  reg.add({
      .name = "capi_cluster_health",
      .title = "Workload cluster health",
      .description = "Health of one workload cluster: HEALTHY, DEGRADED, UNHEALTHY or UNKNOWN from its Cluster "
                     "object (control plane, infrastructure, phase, replicas) and a /readyz probe of its API "
                     "server made as the caller.",
      .input_schema = schema::object({{"name", schema::string("Cluster name")},
                                      {"namespace", schema::string("Its namespace on the management cluster")}},
                                     {"name"}),
      .output_schema = schema::output({{"name", schema::string("")},
                                       {"status", schema::string("HEALTHY, UNHEALTHY, DEGRADED or UNKNOWN")},
                                       {"message", schema::string("")},
                                       {"components", schema::any_object("")},
                                       {"checks", json::object{{"type", "array"}}}},
                                      {"name", "status", "message", "components", "checks"}),
      .annotations = read,
      .verb = op::get,
      .handler = cluster_health,
  });
}

}  // namespace mk::tools
