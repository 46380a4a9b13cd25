// k8s_delete_resource: delete one object, with propagation policy and grace period.
#include "safety/policy.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/resources/write_common.hpp"

#include <fmt/core.h>
#include <boost/beast/http/verb.hpp>

namespace mk::tools {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// Finalizers that keep a deleted object around (metadata.finalizers; a Namespace also has spec.finalizers).
json::array pending_finalizers(const json::object& o) {
  json::array out;
  for (auto [a, b] : {std::pair{"metadata", "finalizers"}, std::pair{"spec", "finalizers"}}) {
    auto* x = o.if_contains(a);
    auto* f = x && x->is_object() ? x->as_object().if_contains(b) : nullptr;
    if (f && f->is_array())
      for (auto& v : f->as_array()) out.push_back(v);
  }
  return out;
}

asio::awaitable<mcp::ToolResult> delete_resource(Env& env, Call& c) {
  auto& a = c.args();
  std::string name = required_name(a);
  auto t = co_await resolve_target(env, c, /*write=*/true);
  bool dry = c.dry_run();

  json::object opts{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  // With a body the API server reads the options from it and ignores the query: dryRun goes in both.
  if (dry) opts["dryRun"] = json::array{"All"};
  auto propagation = opt_str(a, "propagationPolicy");
  if (propagation) opts["propagationPolicy"] = *propagation;
  if (auto g = opt_int(a, "gracePeriodSeconds")) opts["gracePeriodSeconds"] = *g;
  auto resp = co_await t.client->send_json(http::verb::delete_, t.path(name), write_query(dry), json::serialize(opts),
                                           "application/json");

  json::object obj = resp.is_object() ? resp.as_object() : json::object{};
  bool is_status = str_at(obj, "kind") == "Status";
  json::array finalizers = is_status ? json::array{} : pending_finalizers(obj);
  bool pending = !is_status && (!finalizers.empty() || !str_at(obj, "metadata", "deletionTimestamp").empty());
  auto out = object_identity(t.resource, obj, t.ns);
  out["name"] = name;
  if (auto uid = is_status ? str_at(obj, "details", "uid") : str_at(obj, "metadata", "uid"); !uid.empty())
    out["uid"] = uid;
  out["status"] = pending ? "deleting" : "deleted";
  if (!finalizers.empty()) out["finalizers"] = finalizers;
  if (propagation) out["propagationPolicy"] = *propagation;
  out["dryRun"] = dry;
  out["context"] = t.context;

  std::string text = object_ref(t.resource, name);
  if (!t.ns.empty()) text += " in namespace " + t.ns;
  if (pending) {
    std::string fs;
    for (auto& f : finalizers)
      if (f.is_string()) fs += (fs.empty() ? "" : ", ") + std::string(f.as_string());
    text += fs.empty() ? ": deletion started" : ": deletion started; waiting for finalizers " + fs;
  } else {
    text += " deleted";
  }
  if (propagation) text += fmt::format(" (propagation {})", *propagation);
  if (dry) text += " (dry run)";
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

json::object delete_input_schema() {
  return schema::with_context(schema::object(
      {{"resourceType", schema::string("resource type: plural, singular, Kind or short name; CRDs included")},
       {"apiGroup", schema::string("API group or group/version to disambiguate (apps, apps/v1, core)")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"name", object_name_schema()},
       {"propagationPolicy",
        schema::string_enum("what happens to dependents: Background (default for most types: deleted after), "
                            "Foreground (deleted first; the owner waits for them) or Orphan (kept)",
                            {"Foreground", "Background", "Orphan"})},
       {"gracePeriodSeconds",
        schema::integer("seconds the object gets to terminate (0 = immediately)", 0, 365LL * 24 * 3600)},
       {"dryRun", schema::boolean("validate on the server without deleting (dryRun=All)")}},
      {"resourceType", "name"}));
}

}  // namespace

void register_delete_tool(Registrar& reg) {
  reg.add({
      .name = "k8s_delete_resource",
      .title = "Delete a resource",
      .description = "Delete one Kubernetes object by name (any type, CRDs included). propagationPolicy chooses "
                     "what happens to dependents (e.g. a Deployment's ReplicaSets and Pods).",
      .input_schema = delete_input_schema(),
      .output_schema = schema::output({{"kind", schema::string("")},
                                       {"name", schema::string("")},
                                       {"namespace", schema::string("")},
                                       {"status", schema::string("deleted, or deleting while finalizers run")},
                                       {"dryRun", schema::boolean("")}},
                                      {"kind", "name", "status", "dryRun"}),
      .annotations = write_annotations(true, true),
      .verb = op::del,
      .handler = delete_resource,
  });
}

}  // namespace mk::tools
