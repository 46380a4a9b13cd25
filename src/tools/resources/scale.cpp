// k8s_scale_resource: set replicas through the /scale subresource of any scalable type
// (deployments, replicasets, statefulsets, replicationcontrollers, custom resources with scale).
#include "safety/policy.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/resources/write_common.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/beast/http/verb.hpp>

namespace mk::tools {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr std::int64_t kMaxReplicas = 100000;

std::int64_t replicas_of(const json::value& scale) {
  auto* spec = scale.is_object() ? scale.as_object().if_contains("spec") : nullptr;
  auto* r = spec && spec->is_object() ? spec->as_object().if_contains("replicas") : nullptr;
  return r && r->is_number() ? r->to_number<std::int64_t>() : 0;  // omitted means 0
}

asio::awaitable<mcp::ToolResult> scale_resource(Env& env, Call& c) {
  auto& a = c.args();
  std::string name = required_name(a);
  auto replicas = opt_int(a, "replicas");
  if (!replicas || *replicas < 0 || *replicas > kMaxReplicas)
    fail(Errc::invalid_argument, fmt::format("replicas must be an integer from 0 to {}", kMaxReplicas));
  // resourceType defaults to deployments, the common case.
  // Named first: g++ 12 destroys a temporary with members inside a co_await expression twice.
  TargetQuery q{.type = str(a, "resourceType", "deployments"),
                .group = str(a, "apiGroup"),
                .ns = str(a, "namespace"),
                .name = name,
                .write = true};
  auto t = co_await resolve_target(env, c, std::move(q));
  if (!t.resource.has_subresource("scale"))
    fail(Errc::invalid_argument,
         fmt::format("{} cannot be scaled: it has no scale subresource (scalable: deployments, replicasets, "
                     "statefulsets, replicationcontrollers and custom resources that declare one)",
                     t.resource.qualified()));
  bool dry = c.dry_run();

  auto path = t.path(name, "scale");
  auto before = co_await t.client->get_json(path);
  auto previous = replicas_of(before);
  json::object patch{{"spec", json::object{{"replicas", *replicas}}}};
  auto after = co_await t.client->send_json(http::verb::patch, path, write_query(dry, kDefaultFieldManager),
                                            json::serialize(patch), "application/merge-patch+json");
  auto now = replicas_of(after);

  json::object out{{"apiVersion", t.resource.group_version()}, {"kind", t.resource.kind}, {"name", name}};
  if (!t.ns.empty()) out["namespace"] = t.ns;
  out["previousReplicas"] = previous;
  out["replicas"] = now;
  out["dryRun"] = dry;
  out["context"] = t.context;
  std::string text = fmt::format("{}{} scaled from {} to {} replicas{}", object_ref(t.resource, name),
                                 t.ns.empty() ? "" : " in namespace " + t.ns, previous, now, dry ? " (dry run)" : "");
  if (previous == now && !dry) text += " (already at that scale)";
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

json::object scale_input_schema() {
  return schema::with_context(schema::object(
      {{"resourceType", schema::string("a scalable type: deployments (default), replicasets, statefulsets, "
                                       "replicationcontrollers or a custom resource with a scale subresource")},
       {"apiGroup", schema::string("API group or group/version to disambiguate")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"name", object_name_schema()},
       {"replicas", schema::integer("desired replicas", 0, kMaxReplicas)},
       {"dryRun", schema::boolean("validate on the server without persisting (dryRun=All)")}},
      {"name", "replicas"}));
}

}  // namespace

void register_scale_tool(Registrar& reg) {
  reg.add({
      .name = "k8s_scale_resource",
      .title = "Scale a resource",
      .description = "Set the replica count of a Deployment (default), ReplicaSet, StatefulSet or any resource "
                     "with a scale subresource; returns the previous and the new count.",
      .input_schema = scale_input_schema(),
      .output_schema = schema::output({{"kind", schema::string("")},
                                       {"name", schema::string("")},
                                       {"previousReplicas", schema::integer("")},
                                       {"replicas", schema::integer("replicas the server now reports")},
                                       {"dryRun", schema::boolean("")}},
                                      {"kind", "name", "previousReplicas", "replicas", "dryRun"}),
      .annotations = write_annotations(true, true),
      .verb = op::scale,
      .handler = scale_resource,
  });
}

}  // namespace mk::tools
