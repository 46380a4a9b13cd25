// k8s_create_resource: POST every object of a manifest (YAML or JSON, multi-document, Lists).
#include "output/redact.hpp"
#include "output/slim.hpp"
#include "safety/policy.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/resources/manifest_objects.hpp"
#include "tools/resources/write_common.hpp"

#include <fmt/core.h>
#include <boost/beast/http/verb.hpp>

namespace mk::tools {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// A dry run's point is to show what the server would store: echo it, slim and redacted.
json::value echo(const Env& env, json::value v) {
  if (v.is_object()) output::slim_object(v.as_object());
  if (!env.settings().show_secret_values) output::redact_secrets(v);
  return v;
}

asio::awaitable<json::object> create_one(const Env& env, std::string field_manager, std::shared_ptr<k8s::Client> client,
                                         ManifestObject& mo, bool dry, std::string& text) {
  auto& ri = *mo.resource;
  auto resp = co_await client->send_json(http::verb::post, k8s::Client::path_for(ri, mo.ns),
                                         write_query(dry, field_manager), json::serialize(mo.body), "application/json");
  json::object created = resp.is_object() ? resp.as_object() : json::object{};
  auto r = object_identity(ri, created, mo.ns);
  r["action"] = "created";
  r["resourceVersion"] = str_at(created, "metadata", "resourceVersion");
  std::string name = str_at(created, "metadata", "name");
  text += fmt::format("{} created{}{}\n", object_ref(ri, name), mo.ns.empty() ? "" : " in namespace " + mo.ns,
                      dry ? " (dry run)" : "");
  if (dry) r["object"] = echo(env, std::move(resp));
  co_return r;
}

asio::awaitable<mcp::ToolResult> create_resources(Env& env, Call& c) {
  std::string fm = str(c.args(), "fieldManager", kDefaultFieldManager);
  // A named writer, not a temporary: g++ 12 destroys prvalue arguments of a coroutine twice.
  ObjectWriter writer = [&env, fm](std::shared_ptr<k8s::Client> client, ManifestObject& mo, bool dry,
                                   std::string& text) { return create_one(env, fm, std::move(client), mo, dry, text); };
  auto result = co_await run_manifest(env, c, false, writer);
  co_return result;
}

}  // namespace

void register_create_tool(Registrar& reg) {
  reg.add({
      .name = "k8s_create_resource",
      .title = "Create resources",
      .description = "Create Kubernetes objects from a YAML or JSON manifest (multi-document and List "
                     "supported; CRDs and their custom resources in one manifest work). Every object's "
                     "namespace is checked against the server's policy before anything is written. Fails "
                     "for objects that already exist: use k8s_apply_resource to create-or-update.",
      .input_schema = manifest_input_schema(false),
      .output_schema = manifest_output_schema(),
      .annotations = write_annotations(false, false),
      .timeout = std::chrono::seconds(120),
      .verb = op::create,
      .handler = create_resources,
  });
}

}  // namespace mk::tools
