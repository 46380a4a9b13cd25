// Cluster API Cluster objects -> what capi_* tools report: the derivation of provider,
// organization, release, version, readiness and node count (v1beta2 and v1beta1 shapes), and
// the health verdict.
#include "federation/cluster_info.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using namespace mk::federation;
namespace json = boost::json;

namespace {

json::object parse(const char* s) { return json::parse(s).as_object(); }

// As the CAPI v1beta2 API serves a provisioned AWS cluster.
const char* kV1beta2 = R"({
  "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
  "metadata": {"name": "acme-prod", "namespace": "org-acme", "creationTimestamp": "2026-12-01T10:00:00Z",
    "labels": {"release.giantswarm.io/version": "29.1.0", "giantswarm.io/organization": "acme"},
    "annotations": {"cluster.giantswarm.io/description": "Production"}},
  "spec": {"controlPlaneEndpoint": {"host": "api.acme-prod.example.com", "port": 443},
    "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "AWSCluster", "name": "acme-prod"},
    "topology": {"version": "v1.31.2", "classRef": {"name": "aws"}}},
  "status": {"phase": "Provisioned",
    "conditions": [{"type": "ControlPlaneAvailable", "status": "True"}, {"type": "InfrastructureReady", "status": "True"}],
    "controlPlane": {"replicas": 3, "readyReplicas": 3}, "workers": {"replicas": 5, "readyReplicas": 4}}
})";

// As v1beta1 serves one: booleans instead of v1beta2 conditions, no topology.
const char* kV1beta1 = R"({
  "apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Cluster",
  "metadata": {"name": "beta-dev", "namespace": "org-beta"},
  "spec": {"controlPlaneEndpoint": {"host": "10.0.0.5"},
    "infrastructureRef": {"kind": "OpenStackCluster", "name": "beta-dev"}},
  "status": {"phase": "Provisioned", "controlPlaneReady": true, "infrastructureReady": false,
    "conditions": [{"type": "ControlPlaneReady", "status": "True"}, {"type": "InfrastructureReady", "status": "False"}]}
})";

}  // namespace

TEST(FederationCluster, DerivesTheV1beta2Fields) {
  auto c = derive_cluster(parse(kV1beta2));
  EXPECT_EQ(c.name, "acme-prod");
  EXPECT_EQ(c.ns, "org-acme");
  EXPECT_EQ(c.organization, "acme");
  EXPECT_EQ(c.provider, "aws");
  EXPECT_EQ(c.release, "29.1.0");
  EXPECT_EQ(c.kubernetes_version, "v1.31.2");
  EXPECT_EQ(c.phase, "Provisioned");
  EXPECT_TRUE(c.control_plane_ready);
  EXPECT_TRUE(c.infrastructure_ready);
  EXPECT_TRUE(c.ready);
  ASSERT_TRUE(c.node_count);
  EXPECT_EQ(*c.node_count, 7) << "3 control-plane + 4 workers ready";
  EXPECT_EQ(c.description, "Production");
  EXPECT_EQ(c.endpoint_host, "api.acme-prod.example.com");
  EXPECT_EQ(c.endpoint_port, 443);
}

TEST(FederationCluster, DerivesTheV1beta1FieldsAndDefaults) {
  auto c = derive_cluster(parse(kV1beta1));
  EXPECT_EQ(c.organization, "beta") << "namespace minus org- without the label";
  EXPECT_EQ(c.provider, "openstack") << "kind minus Cluster, lowercase";
  EXPECT_TRUE(c.control_plane_ready);
  EXPECT_FALSE(c.infrastructure_ready);
  EXPECT_FALSE(c.ready) << "infrastructure not ready";
  EXPECT_FALSE(c.node_count);
  EXPECT_EQ(c.endpoint_port, 6443) << "the default API server port";
  EXPECT_EQ(c.kubernetes_version, "");
}

TEST(FederationCluster, ProviderNames) {
  auto with_kind = [](const char* kind) {
    json::object o{{"spec", json::object{{"infrastructureRef", json::object{{"kind", kind}}}}}};
    return derive_cluster(o).provider;
  };
  EXPECT_EQ(with_kind("AzureCluster"), "azure");
  EXPECT_EQ(with_kind("VSphereCluster"), "vsphere");
  EXPECT_EQ(with_kind("GCPCluster"), "gcp");
  EXPECT_EQ(with_kind("GoogleManagedCluster"), "gcp");
  EXPECT_EQ(with_kind("AWSManagedCluster"), "aws");
  EXPECT_EQ(with_kind("DockerCluster"), "docker");
  EXPECT_EQ(with_kind(""), "");
}

TEST(FederationCluster, ReadyNeedsPhaseProvisioned) {
  auto o = parse(kV1beta2);
  o["status"].as_object()["phase"] = "Provisioning";
  EXPECT_FALSE(derive_cluster(o).ready);
}

TEST(FederationCluster, Age) {
  auto t0 = std::chrono::system_clock::from_time_t(1796119200);  // 2026-12-01T10:00:00Z
  EXPECT_EQ(age("2026-12-01T10:00:00Z", t0 + std::chrono::seconds(30)), "<1m");
  EXPECT_EQ(age("2026-12-01T10:00:00Z", t0 + std::chrono::minutes(5)), "5m");
  EXPECT_EQ(age("2026-12-01T10:00:00Z", t0 + std::chrono::hours(3)), "3h");
  EXPECT_EQ(age("2026-12-01T10:00:00Z", t0 + std::chrono::hours(50)), "2d");
  EXPECT_EQ(age("garbage", t0), "");
}

TEST(FederationCluster, ListItemHasTheContractFields) {
  auto item = to_item(derive_cluster(parse(kV1beta2)), std::chrono::system_clock::now());
  for (const char* k : {"name", "namespace", "organization", "provider", "release", "kubernetesVersion", "phase",
                        "ready", "controlPlaneReady", "infrastructureReady", "nodeCount", "age"})
    EXPECT_TRUE(item.contains(k)) << k;
  EXPECT_EQ(item.at("nodeCount").as_int64(), 7);
}

TEST(FederationHealth, HealthyWhenEverythingIsReady) {
  auto h = derive_health(derive_cluster(parse(kV1beta2)));
  EXPECT_EQ(h.status, "HEALTHY");
  EXPECT_EQ(h.control_plane.status, "healthy");
  EXPECT_EQ(h.nodes.status, "unhealthy") << "4 of 5 workers ready";
  auto j = to_json(h, "acme-prod");
  EXPECT_EQ(j.at("components").as_object().at("controlPlane").as_object().at("ready").as_int64(), 3);
}

TEST(FederationHealth, OneFailedCheckDegradesTwoMakeUnhealthy) {
  auto one = derive_health(derive_cluster(parse(kV1beta1)));
  EXPECT_EQ(one.status, "DEGRADED") << one.message;
  auto o = parse(kV1beta1);
  o["status"].as_object()["controlPlaneReady"] = false;
  o["status"].as_object()["conditions"] = json::array{};
  auto two = derive_health(derive_cluster(o));
  EXPECT_EQ(two.status, "UNHEALTHY") << two.message;
}

TEST(FederationHealth, PhasesDecideFirst) {
  auto o = parse(kV1beta2);
  o["status"].as_object()["phase"] = "Provisioning";
  EXPECT_EQ(derive_health(derive_cluster(o)).status, "DEGRADED");
  o["status"].as_object()["phase"] = "Deleting";
  EXPECT_EQ(derive_health(derive_cluster(o)).status, "UNKNOWN");
  o["status"].as_object()["phase"] = "Provisioned";
  o["metadata"].as_object()["deletionTimestamp"] = "2026-12-02T00:00:00Z";
  EXPECT_EQ(derive_health(derive_cluster(o)).status, "UNKNOWN");
}
