// k8s_patch_resource: strategic merge, JSON merge or JSON patch of one object.
#include "output/redact.hpp"
#include "output/slim.hpp"
#include "safety/policy.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/resources/write_common.hpp"
#include "util/error.hpp"
#include "util/yaml.hpp"

#include <fmt/core.h>
#include <boost/beast/http/verb.hpp>

namespace mk::tools {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

struct PatchKind {
  const char* content_type;
  const char* label;
};

PatchKind patch_kind(std::string_view type) {
  if (type == "merge") return {"application/merge-patch+json", "JSON merge patch"};
  if (type == "json") return {"application/json-patch+json", "JSON patch"};
  return {"application/strategic-merge-patch+json", "strategic merge patch"};
}

// The patch argument as JSON: an object/array as given, or text (JSON or YAML) parsed.
json::value patch_body(const json::value& arg, std::string_view type) {
  json::value body;
  if (arg.is_string()) {
    yaml::ManifestLimits lim;
    lim.max_bytes = 1u << 20;
    lim.max_objects = 1;
    auto docs = yaml::yaml_to_json(arg.as_string(), lim);
    if (docs.size() != 1) fail(Errc::invalid_argument, "patch must be one JSON (or YAML) document, and not empty");
    body = std::move(docs.front());
  } else {
    body = arg;
  }
  if (type == "json") {
    if (!body.is_array())
      fail(Errc::invalid_argument,
           "patchType json needs a JSON Patch array, e.g. "
           "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":2}]");
    if (body.as_array().empty()) fail(Errc::invalid_argument, "the JSON Patch array is empty");
  } else if (!body.is_object()) {
    fail(Errc::invalid_argument, fmt::format("patchType {} needs a JSON object (for a JSON Patch array use "
                                             "patchType json)",
                                             type));
  }
  return body;
}

bool is_unsupported_media_type(const Error& e) {
  auto* s = e.details().if_contains("status");
  return s && s->is_number() && s->to_number<int>() == 415;
}

asio::awaitable<mcp::ToolResult> patch_resource(Env& env, Call& c) {
  auto& a = c.args();
  std::string type = str(a, "patchType", "strategic");
  std::string name = required_name(a);
  auto body = patch_body(a.at("patch"), type);
  auto kind = patch_kind(type);
  auto t = co_await resolve_target(env, c, /*write=*/true);
  bool dry = c.dry_run();

  json::value resp;
  std::optional<Error> unsupported;
  try {
    resp = co_await t.client->send_json(http::verb::patch, t.path(name),
                                        write_query(dry, str(a, "fieldManager", kDefaultFieldManager)),
                                        json::serialize(body), kind.content_type);
  } catch (const Error& e) {
    if (!is_unsupported_media_type(e)) throw;
    unsupported = e;
  }
  if (unsupported) {
    if (type == "strategic")
      fail(Errc::invalid_argument,
           fmt::format("{} does not support strategic merge patch (custom resources and aggregated APIs accept "
                       "only merge and json patches): retry with patchType \"merge\" (or \"json\")",
                       t.resource.qualified()));
    fail(Errc::invalid_argument,
         fmt::format("{} does not accept a {}: {}", t.resource.qualified(), kind.label, unsupported->what()));
  }
  json::object obj = resp.is_object() ? resp.as_object() : json::object{};
  auto out = object_identity(t.resource, obj, t.ns);
  out["name"] = name;
  out["patchType"] = type;
  out["resourceVersion"] = str_at(obj, "metadata", "resourceVersion");
  if (auto* md = obj.if_contains("metadata"); md && md->is_object())
    if (auto* g = md->as_object().if_contains("generation")) out["generation"] = *g;
  out["dryRun"] = dry;
  out["context"] = t.context;
  std::string text = fmt::format("{} patched ({}){}{}", object_ref(t.resource, name), kind.label,
                                 t.ns.empty() ? "" : " in namespace " + t.ns, dry ? " (dry run)" : "");
  if (dry) {
    output::slim_object(obj);
    json::value echo = std::move(obj);
    if (!env.settings().show_secret_values) output::redact_secrets(echo);
    out["object"] = std::move(echo);
  }
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

json::object patch_input_schema() {
  json::object patch{{"type", json::array{"string", "object", "array"}},
                     {"description",
                      "the patch: an object (strategic/merge), an array (json), or the same as "
                      "JSON/YAML text"}};
  return schema::with_context(schema::object(
      {{"resourceType", schema::string("resource type: plural, singular, Kind or short name; CRDs included")},
       {"apiGroup", schema::string("API group or group/version to disambiguate (apps, apps/v1, core)")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"name", object_name_schema()},
       {"patch", std::move(patch)},
       {"patchType", schema::string_enum("strategic (default; built-in types only), merge (RFC 7386) or json "
                                         "(RFC 6902 array)",
                                         {"strategic", "merge", "json"})},
       {"fieldManager", schema::string("field manager recorded for the change (default mcp-kubernetes)")},
       {"dryRun", schema::boolean("validate on the server without persisting (dryRun=All)")}},
      {"resourceType", "name", "patch"}));
}

}  // namespace

void register_patch_tool(Registrar& reg) {
  reg.add({
      .name = "k8s_patch_resource",
      .title = "Patch a resource",
      .description = "Patch one Kubernetes object: patchType strategic (default, built-in types), merge "
                     "(JSON merge patch, works for custom resources) or json (JSON Patch operations array).",
      .input_schema = patch_input_schema(),
      .output_schema = schema::output({{"kind", schema::string("")},
                                       {"name", schema::string("")},
                                       {"namespace", schema::string("")},
                                       {"resourceVersion", schema::string("")},
                                       {"dryRun", schema::boolean("")}},
                                      {"kind", "name", "dryRun"}),
      .annotations = write_annotations(true, false),
      .verb = op::patch,
      .handler = patch_resource,
  });
}

}  // namespace mk::tools
