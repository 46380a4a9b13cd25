// k8s_apply_resource: server-side apply (PATCH application/apply-patch+yaml) of every object of
// a manifest. Reports per object whether it was created, configured or left unchanged.
#include "output/redact.hpp"
#include "output/slim.hpp"
#include "safety/policy.hpp"
#include "tools/common/args.hpp"
#include "tools/resources/manifest_objects.hpp"
#include "tools/resources/write_common.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <boost/beast/http/verb.hpp>

namespace mk::tools {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// The object minus what changes on every write, to tell a dry-run no-op from a change.
json::value comparable(json::value v) {
  if (auto* md = v.is_object() ? v.as_object().if_contains("metadata") : nullptr; md && md->is_object()) {
    md->as_object().erase("managedFields");
    md->as_object().erase("resourceVersion");
  }
  return v;
}

std::string action_of(const std::optional<json::value>& before, const json::value& after, bool dry) {
  if (!before) return "created";
  if (!before->is_object() || !after.is_object()) return "configured";
  // A no-op apply does not write, so the resourceVersion stays; a dry run never bumps it.
  if (!dry) {
    auto rv0 = str_at(before->as_object(), "metadata", "resourceVersion");
    return rv0 == str_at(after.as_object(), "metadata", "resourceVersion") ? "unchanged" : "configured";
  }
  return comparable(*before) == comparable(after) ? "unchanged" : "configured";
}

asio::awaitable<json::object> apply_one(const Env& env, std::string field_manager, bool force,
                                        std::shared_ptr<k8s::Client> client, ManifestObject& mo, bool dry,
                                        std::string& text) {
  auto& ri = *mo.resource;
  auto path = k8s::Client::path_for(ri, mo.ns, mo.name);
  std::optional<json::value> before;
  try {
    before = co_await client->get_json(path);
  } catch (const Error& e) {
    if (e.code() != Errc::not_found) throw;
  }
  auto q = write_query(dry, field_manager);
  if (force) q.emplace_back("force", "true");
  json::value after;
  std::optional<Error> conflict;
  try {
    after = co_await client->send_json(http::verb::patch, path, q, json::serialize(mo.body),
                                       "application/apply-patch+yaml");  // JSON is valid YAML
  } catch (const Error& e) {
    if (e.code() != Errc::conflict) throw;
    conflict = e;
  }
  if (conflict)
    throw Error(Errc::conflict,
                fmt::format("{}; pass force=true to take ownership of the conflicting fields", conflict->what()),
                conflict->details());
  auto action = action_of(before, after, dry);
  json::object applied = after.is_object() ? after.as_object() : json::object{};
  auto r = object_identity(ri, applied, mo.ns);
  r["action"] = action;
  r["resourceVersion"] = str_at(applied, "metadata", "resourceVersion");
  text += fmt::format("{} {}{}{}\n", object_ref(ri, mo.name), action, mo.ns.empty() ? "" : " in namespace " + mo.ns,
                      dry ? " (dry run)" : "");
  if (dry) {
    output::slim_object(applied);
    json::value echo = std::move(applied);
    if (!env.settings().show_secret_values) output::redact_secrets(echo);
    r["object"] = std::move(echo);
  }
  co_return r;
}

asio::awaitable<mcp::ToolResult> apply_resources(Env& env, Call& c) {
  std::string fm = str(c.args(), "fieldManager", kDefaultFieldManager);
  bool force = flag(c.args(), "force");
  // A named writer, not a temporary: g++ 12 destroys prvalue arguments of a coroutine twice.
  ObjectWriter writer = [&env, fm, force](std::shared_ptr<k8s::Client> client, ManifestObject& mo, bool dry,
                                          std::string& text) {
    return apply_one(env, fm, force, std::move(client), mo, dry, text);
  };
  auto result = co_await run_manifest(env, c, true, writer);
  co_return result;
}

}  // namespace

void register_apply_tool(Registrar& reg) {
  reg.add({
      .name = "k8s_apply_resource",
      .title = "Apply resources (server-side)",
      .description = "Create or update Kubernetes objects from a YAML or JSON manifest with server-side apply "
                     "(multi-document and List supported). Idempotent: re-applying the same manifest reports "
                     "'unchanged'. Fields owned by another manager cause a conflict unless force=true. Every "
                     "object's namespace is checked against the server's policy before anything is written.",
      .input_schema = manifest_input_schema(true),
      .output_schema = manifest_output_schema(),
      .annotations = write_annotations(false, true),
      .timeout = std::chrono::seconds(120),
      .verb = op::apply,
      .handler = apply_resources,
  });
}

}  // namespace mk::tools
