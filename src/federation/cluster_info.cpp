#include "federation/cluster_info.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace mk::federation {
namespace json = boost::json;

namespace {

const json::value* at(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* v = nullptr;
  const json::object* cur = &o;
  for (auto k : path) {
    if (!cur) return nullptr;
    v = cur->if_contains(k);
    if (!v) return nullptr;
    cur = v->is_object() ? &v->as_object() : nullptr;
  }
  return v;
}

std::string str_at(const json::object& o, std::initializer_list<std::string_view> path) {
  auto* v = at(o, path);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<std::int64_t> int_at(const json::object& o, std::initializer_list<std::string_view> path) {
  auto* v = at(o, path);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  return std::nullopt;
}

bool bool_at(const json::object& o, std::initializer_list<std::string_view> path) {
  auto* v = at(o, path);
  return v && v->is_bool() && v->as_bool();
}

// Whether condition `type` is "True" in `conditions` (an array of {type, status}).
bool condition_true(const json::value* conditions, std::string_view type) {
  if (!conditions || !conditions->is_array()) return false;
  for (auto& c : conditions->as_array()) {
    if (!c.is_object()) continue;
    auto& o = c.as_object();
    auto* t = o.if_contains("type");
    auto* s = o.if_contains("status");
    if (t && t->is_string() && t->as_string() == type && s && s->is_string() && s->as_string() == "True") return true;
  }
  return false;
}

std::map<std::string, std::string> string_map(const json::value* v) {
  std::map<std::string, std::string> m;
  if (!v || !v->is_object()) return m;
  for (auto& [k, x] : v->as_object())
    if (x.is_string()) m.emplace(std::string(k), std::string(x.as_string()));
  return m;
}

std::string provider_of(std::string kind) {
  auto k = lower(kind);
  if (k.empty()) return {};
  for (const char* p : {"aws", "azure", "vsphere", "gcp"})
    if (k.find(p) != std::string::npos) return p;
  if (k.find("google") != std::string::npos) return "gcp";
  if (auto pos = k.rfind("cluster"); pos != std::string::npos && pos + 7 == k.size()) k.erase(pos);
  return k;
}

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool icontains(std::string_view hay, std::string_view needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

ClusterInfo derive_cluster(const json::object& cl) {
  ClusterInfo c;
  c.name = str_at(cl, {"metadata", "name"});
  c.ns = str_at(cl, {"metadata", "namespace"});
  c.labels = string_map(at(cl, {"metadata", "labels"}));
  c.annotations = string_map(at(cl, {"metadata", "annotations"}));
  c.created_at = str_at(cl, {"metadata", "creationTimestamp"});
  c.deleting = at(cl, {"metadata", "deletionTimestamp"}) != nullptr;
  if (auto it = c.labels.find("giantswarm.io/organization"); it != c.labels.end()) c.organization = it->second;
  else if (c.ns.starts_with("org-")) c.organization = c.ns.substr(4);
  if (auto it = c.labels.find("release.giantswarm.io/version"); it != c.labels.end()) c.release = it->second;
  if (auto it = c.annotations.find("cluster.giantswarm.io/description"); it != c.annotations.end())
    c.description = it->second;
  c.provider = provider_of(str_at(cl, {"spec", "infrastructureRef", "kind"}));
  c.kubernetes_version = str_at(cl, {"spec", "topology", "version"});
  if (c.kubernetes_version.empty()) c.kubernetes_version = str_at(cl, {"status", "version"});
  if (c.kubernetes_version.empty()) c.kubernetes_version = str_at(cl, {"status", "controlPlane", "version"});
  c.phase = str_at(cl, {"status", "phase"});
  auto* conds = at(cl, {"status", "conditions"});
  auto* old_conds = at(cl, {"status", "deprecated", "v1beta1", "conditions"});
  // v1beta2 names first, then v1beta1's conditions and booleans.
  c.control_plane_ready =
      condition_true(conds, "ControlPlaneAvailable") || condition_true(conds, "ControlPlaneReady") ||
      condition_true(old_conds, "ControlPlaneReady") || bool_at(cl, {"status", "controlPlaneReady"});
  c.infrastructure_ready = condition_true(conds, "InfrastructureReady") ||
                           condition_true(old_conds, "InfrastructureReady") ||
                           bool_at(cl, {"status", "infrastructureReady"}) ||
                           bool_at(cl, {"status", "initialization", "infrastructureProvisioned"});
  c.ready = c.control_plane_ready && c.infrastructure_ready && c.phase == "Provisioned";
  c.control_plane_replicas = int_at(cl, {"status", "controlPlane", "replicas"});
  c.control_plane_ready_replicas = int_at(cl, {"status", "controlPlane", "readyReplicas"});
  c.worker_replicas = int_at(cl, {"status", "workers", "replicas"});
  c.worker_ready_replicas = int_at(cl, {"status", "workers", "readyReplicas"});
  if (c.control_plane_ready_replicas || c.worker_ready_replicas)
    c.node_count = c.control_plane_ready_replicas.value_or(0) + c.worker_ready_replicas.value_or(0);
  c.endpoint_host = str_at(cl, {"spec", "controlPlaneEndpoint", "host"});
  if (auto p = int_at(cl, {"spec", "controlPlaneEndpoint", "port"}); p && *p > 0 && *p < 65536)
    c.endpoint_port = static_cast<int>(*p);
  return c;
}

std::string age(const std::string& created_at, std::chrono::system_clock::time_point now) {
  std::tm tm{};
  if (created_at.size() < 19 || !strptime(created_at.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return {};
  auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto s = std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
  if (s < 60) return "<1m";
  if (s < 3600) return fmt::format("{}m", s / 60);
  if (s < 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

json::object to_item(const ClusterInfo& c, std::chrono::system_clock::time_point now) {
  json::object o{{"name", c.name},
                 {"namespace", c.ns},
                 {"organization", c.organization},
                 {"provider", c.provider},
                 {"release", c.release},
                 {"kubernetesVersion", c.kubernetes_version},
                 {"phase", c.phase},
                 {"ready", c.ready},
                 {"controlPlaneReady", c.control_plane_ready},
                 {"infrastructureReady", c.infrastructure_ready},
                 {"age", age(c.created_at, now)}};
  if (c.node_count) o["nodeCount"] = *c.node_count;
  else o["nodeCount"] = nullptr;
  return o;
}

namespace {
json::object component_json(const Component& c) {
  json::object o{{"status", c.status}, {"message", c.message}};
  if (c.ready) o["ready"] = *c.ready;
  if (c.total) o["total"] = *c.total;
  return o;
}
}  // namespace

Health derive_health(const ClusterInfo& c) {
  Health h;
  int failed = 0;
  auto check = [&](std::string name, bool ok, std::string pass_msg, std::string fail_msg) {
    h.checks.push_back({std::move(name), ok ? "pass" : "fail", ok ? std::move(pass_msg) : std::move(fail_msg)});
    if (!ok) ++failed;
  };
  check("control-plane-ready", c.control_plane_ready, "control plane is ready", "control plane is not ready");
  check("infrastructure-ready", c.infrastructure_ready, "infrastructure is ready", "infrastructure is not ready");
  h.control_plane = {c.control_plane_ready ? "healthy" : "unhealthy", c.control_plane_ready_replicas,
                     c.control_plane_replicas, c.control_plane_ready ? "ready" : "not ready"};
  h.infrastructure = {c.infrastructure_ready ? "healthy" : "unhealthy", std::nullopt, std::nullopt,
                      c.infrastructure_ready ? "ready" : "not ready"};
  if (c.phase == "Provisioned") h.checks.push_back({"cluster-phase", "pass", "phase Provisioned"});
  else if (c.phase == "Failed") {
    h.checks.push_back({"cluster-phase", "fail", "phase Failed"});
    ++failed;
  } else {
    h.checks.push_back({"cluster-phase", "warn", c.phase.empty() ? "no phase reported" : "phase " + c.phase});
  }
  if (c.control_plane_replicas && c.control_plane_ready_replicas) {
    bool all = *c.control_plane_ready_replicas >= *c.control_plane_replicas;
    h.checks.push_back({"control-plane-replicas", all ? "pass" : "warn",
                        fmt::format("{}/{} control-plane replicas ready", *c.control_plane_ready_replicas,
                                    *c.control_plane_replicas)});
  }
  if (c.worker_replicas || c.worker_ready_replicas) {
    auto ready = c.worker_ready_replicas.value_or(0), total = c.worker_replicas.value_or(ready);
    h.nodes = {ready >= total ? "healthy" : "unhealthy", ready, total,
               fmt::format("{}/{} workers ready", ready, total)};
  } else {
    h.nodes = {"unknown", c.node_count, std::nullopt, "no worker status reported"};
  }
  if (c.deleting || c.phase == "Deleting") {
    h.status = "UNKNOWN";
    h.message = "the cluster is being deleted";
  } else if (c.phase == "Provisioning" || c.phase == "Pending") {
    h.status = "DEGRADED";
    h.message = "the cluster is still provisioning";
  } else if (failed >= 2) {
    h.status = "UNHEALTHY";
    h.message = fmt::format("{} checks failed", failed);
  } else if (failed == 1 || c.phase != "Provisioned") {
    h.status = "DEGRADED";
    h.message = failed == 1 ? "1 check failed" : "the cluster is not provisioned";
  } else {
    h.status = "HEALTHY";
    h.message = "control plane and infrastructure ready";
  }
  return h;
}

json::object to_json(const Health& h, const std::string& name) {
  json::array checks;
  for (auto& c : h.checks)
    checks.push_back(json::object{{"name", c.name}, {"status", c.status}, {"message", c.message}});
  return {{"name", name},
          {"status", h.status},
          {"message", h.message},
          {"components", json::object{{"controlPlane", component_json(h.control_plane)},
                                      {"infrastructure", component_json(h.infrastructure)},
                                      {"nodes", component_json(h.nodes)}}},
          {"checks", std::move(checks)}};
}

}  // namespace mk::federation
