// Discovery parsing (aggregated v2 and legacy APIResourceList) and the resolution of a user's
// spelling of a resource type, against a fixture captured from a real kube-apiserver.
#include "k8s/discovery.hpp"
#include "k8s/client.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace mk::k8s;
namespace json = boost::json;

namespace {

// /api and /apis of kube-apiserver 1.3x with Accept: application/json;g=apidiscovery.k8s.io;v=v2;
// as=APIGroupDiscoveryList, trimmed to a few resources per group.
const char* kBuiltin =
    R"JSON({"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{},"items":[
{"metadata":{},"versions":[{"version":"v1","resources":[{"resource":"configmaps","responseKind":{"group":"","version":"","kind":"ConfigMap"},"scope":"Namespaced","singularResource":"configmap","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cm"]},{"resource":"endpoints","responseKind":{"group":"","version":"","kind":"Endpoints"},"scope":"Namespaced","singularResource":"endpoints","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["ep"]},{"resource":"events","responseKind":{"group":"","version":"","kind":"Event"},"scope":"Namespaced","singularResource":"event","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["ev"]},{"resource":"namespaces","responseKind":{"group":"","version":"","kind":"Namespace"},"scope":"Cluster","singularResource":"namespace","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ns"],"subresources":[{"subresource":"finalize","responseKind":{"group":"","version":"","kind":"Namespace"},"verbs":["update"]},{"subresource":"status","responseKind":{"group":"","version":"","kind":"Namespace"},"verbs":["get","patch","update"]}]},{"resource":"nodes","responseKind":{"group":"","version":"","kind":"Node"},"scope":"Cluster","singularResource":"node","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["no"],"subresources":[{"subresource":"proxy","responseKind":{"group":"","version":"","kind":"NodeProxyOptions"},"verbs":["create","delete","get","patch","update"]},{"subresource":"status","responseKind":{"group":"","version":"","kind":"Node"},"verbs":["get","patch","update"]}]},{"resource":"pods","responseKind":{"group":"","version":"","kind":"Pod"},"scope":"Namespaced","singularResource":"pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"],"subresources":[{"subresource":"attach","responseKind":{"group":"","version":"","kind":"PodAttachOptions"},"verbs":["create","get"]},{"subresource":"binding","responseKind":{"group":"","version":"","kind":"Binding"},"verbs":["create"]},{"subresource":"ephemeralcontainers","responseKind":{"group":"","version":"","kind":"Pod"},"verbs":["get","patch","update"]},{"subresource":"eviction","responseKind":{"group":"policy","version":"v1","kind":"Eviction"},"verbs":["create"]},{"subresource":"exec","responseKind":{"group":"","version":"","kind":"PodExecOptions"},"verbs":["create","get"]},{"subresource":"log","responseKind":{"group":"","version":"","kind":"Pod"},"verbs":["get"]},{"subresource":"portforward","responseKind":{"group":"","version":"","kind":"PodPortForwardOptions"},"verbs":["create","get"]},{"subresource":"proxy","responseKind":{"group":"","version":"","kind":"PodProxyOptions"},"verbs":["create","delete","get","patch","update"]},{"subresource":"resize","responseKind":{"group":"","version":"","kind":"Pod"},"verbs":["get","patch","update"]},{"subresource":"status","responseKind":{"group":"","version":"","kind":"Pod"},"verbs":["get","patch","update"]}]},{"resource":"secrets","responseKind":{"group":"","version":"","kind":"Secret"},"scope":"Namespaced","singularResource":"secret","verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},{"resource":"services","responseKind":{"group":"","version":"","kind":"Service"},"scope":"Namespaced","singularResource":"service","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["svc"],"categories":["all"],"subresources":[{"subresource":"proxy","responseKind":{"group":"","version":"","kind":"ServiceProxyOptions"},"verbs":["create","delete","get","patch","update"]},{"subresource":"status","responseKind":{"group":"","version":"","kind":"Service"},"verbs":["get","patch","update"]}]}]}]},
{"metadata":{"name":"apps"},"versions":[{"version":"v1","resources":[{"resource":"deployments","responseKind":{"group":"","version":"","kind":"Deployment"},"scope":"Namespaced","singularResource":"deployment","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["deploy"],"categories":["all"],"subresources":[{"subresource":"scale","responseKind":{"group":"autoscaling","version":"v1","kind":"Scale"},"verbs":["get","patch","update"]},{"subresource":"status","responseKind":{"group":"","version":"","kind":"Deployment"},"verbs":["get","patch","update"]}]},{"resource":"replicasets","responseKind":{"group":"","version":"","kind":"ReplicaSet"},"scope":"Namespaced","singularResource":"replicaset","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["rs"],"categories":["all"],"subresources":[{"subresource":"scale","responseKind":{"group":"autoscaling","version":"v1","kind":"Scale"},"verbs":["get","patch","update"]},{"subresource":"status","responseKind":{"group":"","version":"","kind":"ReplicaSet"},"verbs":["get","patch","update"]}]},{"resource":"statefulsets","responseKind":{"group":"","version":"","kind":"StatefulSet"},"scope":"Namespaced","singularResource":"statefulset","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["sts"],"categories":["all"],"subresources":[{"subresource":"scale","responseKind":{"group":"autoscaling","version":"v1","kind":"Scale"},"verbs":["get","patch","update"]},{"subresource":"status","responseKind":{"group":"","version":"","kind":"StatefulSet"},"verbs":["get","patch","update"]}]}]}]},
{"metadata":{"name":"events.k8s.io"},"versions":[{"version":"v1","resources":[{"resource":"events","responseKind":{"group":"","version":"","kind":"Event"},"scope":"Namespaced","singularResource":"event","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["ev"]}]}]},
{"metadata":{"name":"autoscaling"},"versions":[{"version":"v2","resources":[{"resource":"horizontalpodautoscalers","responseKind":{"group":"","version":"","kind":"HorizontalPodAutoscaler"},"scope":"Namespaced","singularResource":"horizontalpodautoscaler","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["hpa"],"categories":["all"],"subresources":[{"subresource":"status","responseKind":{"group":"","version":"","kind":"HorizontalPodAutoscaler"},"verbs":["get","patch","update"]}]}]},{"version":"v1","resources":[{"resource":"horizontalpodautoscalers","responseKind":{"group":"","version":"","kind":"HorizontalPodAutoscaler"},"scope":"Namespaced","singularResource":"horizontalpodautoscaler","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["hpa"],"categories":["all"],"subresources":[{"subresource":"status","responseKind":{"group":"","version":"","kind":"HorizontalPodAutoscaler"},"verbs":["get","patch","update"]}]}]}]},
{"metadata":{"name":"batch"},"versions":[{"version":"v1","resources":[{"resource":"cronjobs","responseKind":{"group":"","version":"","kind":"CronJob"},"scope":"Namespaced","singularResource":"cronjob","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cj"],"categories":["all"],"subresources":[{"subresource":"status","responseKind":{"group":"","version":"","kind":"CronJob"},"verbs":["get","patch","update"]}]},{"resource":"jobs","responseKind":{"group":"","version":"","kind":"Job"},"scope":"Namespaced","singularResource":"job","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"categories":["all"],"subresources":[{"subresource":"status","responseKind":{"group":"","version":"","kind":"Job"},"verbs":["get","patch","update"]}]}]}]}
]})JSON";

// A CRD group with two versions (v2 preferred, listed first) and a group that also defines
// "deployments", to exercise ambiguity.
const char* kCustom = R"JSON({"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","items":[
{"metadata":{"name":"stable.example.com"},"versions":[
  {"version":"v2","resources":[{"resource":"crontabs","responseKind":{"group":"stable.example.com","version":"v2",
   "kind":"CronTab"},"scope":"Namespaced","singularResource":"crontab","shortNames":["ct"],
   "categories":["all"],"verbs":["get","list","create","delete"],
   "subresources":[{"subresource":"status","verbs":["get","patch"]},{"subresource":"scale","verbs":["get"]}]}]},
  {"version":"v1","resources":[{"resource":"crontabs","responseKind":{"group":"stable.example.com","version":"v1",
   "kind":"CronTab"},"scope":"Namespaced","singularResource":"crontab","shortNames":["ct"],"verbs":["get","list"]}]}]},
{"metadata":{"name":"fleet.example.com"},"versions":[
  {"version":"v1alpha1","resources":[{"resource":"deployments","responseKind":{"kind":"Deployment"},
   "scope":"Cluster","singularResource":"deployment","verbs":["get","list"]},
   {"resource":"widgets","responseKind":{"kind":"Widget"},"scope":"Cluster","verbs":["list"]}]}]}
]})JSON";

DiscoveryDoc builtin() {
  DiscoveryDoc d;
  parse_aggregated(json::parse(kBuiltin), d);
  return d;
}

DiscoveryDoc with_custom() {
  auto d = builtin();
  parse_aggregated(json::parse(kCustom), d);
  return d;
}

std::string gvr(const ResourceInfo& r) { return r.group_version() + "/" + r.plural; }

std::string resolve_error(const DiscoveryDoc& d, const std::string& type, const std::string& group, mk::Errc want) {
  try {
    auto& r = resolve_resource(d, type, group);
    ADD_FAILURE() << type << " resolved to " << gvr(r) << " but should fail";
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), want) << e.what();
    return e.what();
  }
  return {};
}

}  // namespace

TEST(Discovery, ParsesAggregatedList) {
  auto d = builtin();
  const ResourceInfo* pods = nullptr;
  const ResourceInfo* deploy = nullptr;
  const ResourceInfo* ns = nullptr;
  for (auto& r : d.resources) {
    if (r.group.empty() && r.plural == "pods") pods = &r;
    if (r.group == "apps" && r.plural == "deployments") deploy = &r;
    if (r.group.empty() && r.plural == "namespaces") ns = &r;
  }
  ASSERT_TRUE(pods && deploy && ns);
  EXPECT_EQ(pods->version, "v1");
  EXPECT_EQ(pods->kind, "Pod");
  EXPECT_EQ(pods->singular, "pod");
  EXPECT_TRUE(pods->namespaced);
  EXPECT_TRUE(pods->has_verb("list"));
  EXPECT_EQ(pods->short_names, std::vector<std::string>{"po"});
  EXPECT_TRUE(pods->has_subresource("log"));
  EXPECT_TRUE(pods->has_subresource("exec"));
  EXPECT_FALSE(ns->namespaced);
  EXPECT_EQ(deploy->kind, "Deployment");
  EXPECT_TRUE(deploy->has_subresource("scale"));
  EXPECT_EQ(deploy->qualified(), "deployments.apps");
  EXPECT_EQ(deploy->group_version(), "apps/v1");
  EXPECT_EQ(pods->qualified(), "pods");
  EXPECT_EQ(pods->group_version(), "v1");
}

TEST(Discovery, FirstVersionOfAGroupIsPreferred) {
  auto d = builtin();
  int preferred = 0, other = 0;
  for (auto& r : d.resources) {
    if (r.group != "autoscaling" || r.plural != "horizontalpodautoscalers") continue;
    if (r.version == "v2") {
      EXPECT_TRUE(r.preferred);
      ++preferred;
    } else {
      EXPECT_FALSE(r.preferred) << r.version;
      ++other;
    }
  }
  EXPECT_EQ(preferred, 1);
  EXPECT_EQ(other, 1);
  EXPECT_EQ(resolve_resource(d, "hpa", "").version, "v2");
  EXPECT_EQ(resolve_resource(d, "hpa", "autoscaling/v1").version, "v1");
}

TEST(Discovery, ParsesLegacyResourceList) {
  auto list = json::parse(R"({"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
    {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment",
     "verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["deploy"],"categories":["all"]},
    {"name":"deployments/scale","singularName":"","namespaced":true,"group":"autoscaling","version":"v1",
     "kind":"Scale","verbs":["get","patch","update"]},
    {"name":"deployments/status","singularName":"","namespaced":true,"kind":"Deployment","verbs":["get"]},
    {"name":"controllerrevisions","singularName":"","namespaced":true,"kind":"ControllerRevision","verbs":["get"]}]})");
  DiscoveryDoc d;
  parse_resource_list(list, "apps", "v1", true, d);
  ASSERT_EQ(d.resources.size(), 2u);
  auto& dep = d.resources[0];
  EXPECT_EQ(dep.group, "apps");
  EXPECT_EQ(dep.version, "v1");
  EXPECT_EQ(dep.kind, "Deployment");
  EXPECT_EQ(dep.short_names, std::vector<std::string>{"deploy"});
  EXPECT_EQ(dep.subresources, (std::vector<std::string>{"scale", "status"}));
  EXPECT_EQ(dep.categories, std::vector<std::string>{"all"});
  EXPECT_EQ(d.resources[1].singular, "controllerrevision");  // derived from the kind when empty
  EXPECT_EQ(&resolve_resource(d, "deploy", ""), &d.resources[0]);
  // Garbage in: nothing out, no crash.
  DiscoveryDoc e;
  parse_resource_list(json::parse("[1,2]"), "x", "v1", true, e);
  parse_aggregated(json::parse(R"({"items":[1,{"versions":"no"},{"metadata":{},"versions":[{"resources":[7]}]}]})"), e);
  EXPECT_TRUE(e.resources.empty());
}

TEST(Discovery, ResolvesEverySpelling) {
  auto d = builtin();
  for (auto spelling : {"deployments", "deployment", "Deployment", "DEPLOYMENTS", "deploy"})
    EXPECT_EQ(gvr(resolve_resource(d, spelling, "")), "apps/v1/deployments") << spelling;
  for (auto spelling : {"pods", "pod", "Pod", "po"}) EXPECT_EQ(gvr(resolve_resource(d, spelling, "")), "v1/pods");
  EXPECT_EQ(gvr(resolve_resource(d, "cm", "")), "v1/configmaps");
  EXPECT_EQ(gvr(resolve_resource(d, "cj", "")), "batch/v1/cronjobs");
  EXPECT_EQ(gvr(resolve_resource(d, "ns", "")), "v1/namespaces");
  EXPECT_EQ(gvr(resolve_resource(d, "Node", "")), "v1/nodes");
}

TEST(Discovery, ResolvesGroupQualifiedNames) {
  auto d = builtin();
  EXPECT_EQ(gvr(resolve_resource(d, "deployments.apps", "")), "apps/v1/deployments");
  EXPECT_EQ(gvr(resolve_resource(d, "deployments.v1.apps", "")), "apps/v1/deployments");
  EXPECT_EQ(gvr(resolve_resource(d, "deploy.apps", "")), "apps/v1/deployments");
  EXPECT_EQ(gvr(resolve_resource(d, "horizontalpodautoscalers.v1.autoscaling", "")),
            "autoscaling/v1/horizontalpodautoscalers");
  EXPECT_EQ(gvr(resolve_resource(d, "events.events.k8s.io", "")), "events.k8s.io/v1/events");
  resolve_error(d, "deployments.v2.apps", "", mk::Errc::not_found);
}

TEST(Discovery, ResolvesWithApiGroupArgument) {
  auto d = builtin();
  EXPECT_EQ(gvr(resolve_resource(d, "deployments", "apps")), "apps/v1/deployments");
  EXPECT_EQ(gvr(resolve_resource(d, "deployments", "apps/v1")), "apps/v1/deployments");
  EXPECT_EQ(gvr(resolve_resource(d, "events", "core")), "v1/events");
  EXPECT_EQ(gvr(resolve_resource(d, "events", "core/v1")), "v1/events");
  EXPECT_EQ(gvr(resolve_resource(d, "events", "v1")), "v1/events");
  EXPECT_EQ(gvr(resolve_resource(d, "events", "events.k8s.io")), "events.k8s.io/v1/events");
  auto m = resolve_error(d, "pods", "apps", mk::Errc::not_found);
  EXPECT_NE(m.find("in group \"apps\""), std::string::npos) << m;
  resolve_error(d, "deployments", "apps/v1beta1", mk::Errc::not_found);
}

TEST(Discovery, EventsResolveToCore) {
  auto d = builtin();
  EXPECT_EQ(gvr(resolve_resource(d, "events", "")), "v1/events");
  EXPECT_EQ(gvr(resolve_resource(d, "ev", "")), "v1/events");
  EXPECT_EQ(gvr(resolve_resource(d, "Event", "")), "v1/events");
}

TEST(Discovery, CustomResources) {
  auto d = with_custom();
  for (auto spelling : {"crontabs", "crontab", "CronTab", "ct", "crontabs.stable.example.com"}) {
    auto& r = resolve_resource(d, spelling, "");
    EXPECT_EQ(gvr(r), "stable.example.com/v2/crontabs") << spelling;
    EXPECT_TRUE(r.has_subresource("scale"));
    EXPECT_EQ(r.categories, std::vector<std::string>{"all"});
  }
  EXPECT_EQ(gvr(resolve_resource(d, "crontabs.v1.stable.example.com", "")), "stable.example.com/v1/crontabs");
  EXPECT_EQ(gvr(resolve_resource(d, "ct", "stable.example.com/v1")), "stable.example.com/v1/crontabs");
  // A responseKind without singularResource: the singular falls back to the lower-case kind.
  EXPECT_EQ(gvr(resolve_resource(d, "widget", "")), "fleet.example.com/v1alpha1/widgets");
  EXPECT_FALSE(resolve_resource(d, "widgets", "").namespaced);
}

TEST(Discovery, AmbiguityListsTheCandidates) {
  auto d = with_custom();
  auto m = resolve_error(d, "deployments", "", mk::Errc::invalid_argument);
  EXPECT_NE(m.find("ambiguous"), std::string::npos) << m;
  EXPECT_NE(m.find("deployments.apps (apps/v1)"), std::string::npos) << m;
  EXPECT_NE(m.find("deployments.fleet.example.com (fleet.example.com/v1alpha1)"), std::string::npos) << m;
  EXPECT_NE(m.find("apiGroup"), std::string::npos) << "says how to disambiguate: " << m;
  // Either qualification settles it.
  EXPECT_EQ(gvr(resolve_resource(d, "deployments", "apps")), "apps/v1/deployments");
  EXPECT_EQ(gvr(resolve_resource(d, "deployments.fleet.example.com", "")), "fleet.example.com/v1alpha1/deployments");
  // Two versions of one group are not ambiguous: the preferred one wins.
  EXPECT_EQ(resolve_resource(d, "crontabs", "stable.example.com").version, "v2");
}

TEST(Discovery, UnknownTypeSuggestsCloseMatches) {
  auto d = builtin();
  auto typo = resolve_error(d, "deploymnets", "", mk::Errc::not_found);
  EXPECT_NE(typo.find("the server doesn't have a resource type \"deploymnets\""), std::string::npos) << typo;
  EXPECT_NE(typo.find("did you mean"), std::string::npos) << typo;
  EXPECT_NE(typo.find("deployments.apps"), std::string::npos) << typo;
  auto partial = resolve_error(d, "config", "", mk::Errc::not_found);
  EXPECT_NE(partial.find("configmaps"), std::string::npos) << partial;
  auto none = resolve_error(d, "zzzzqqq", "", mk::Errc::not_found);
  EXPECT_EQ(none.find("did you mean"), std::string::npos) << none;
  resolve_error(d, "", "", mk::Errc::invalid_argument);
}

TEST(Discovery, PathsForResources) {
  auto d = builtin();
  EXPECT_EQ(Client::path_for(resolve_resource(d, "pods", ""), "kube-system", "a b"),
            "/api/v1/namespaces/kube-system/pods/a%20b");
  EXPECT_EQ(Client::path_for(resolve_resource(d, "deploy", ""), "x", "web", "scale"),
            "/apis/apps/v1/namespaces/x/deployments/web/scale");
  EXPECT_EQ(Client::path_for(resolve_resource(d, "deploy", ""), "", ""), "/apis/apps/v1/deployments");
  // Cluster-scoped: a namespace never appears in the path.
  EXPECT_EQ(Client::path_for(resolve_resource(d, "nodes", ""), "ignored", "n1"), "/api/v1/nodes/n1");
  EXPECT_EQ(Client::with_query("/api/v1/pods", {{"labelSelector", "app in (a,b)"}, {"limit", "5"}}),
            "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29&limit=5");
}
