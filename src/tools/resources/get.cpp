// k8s_get_resource: one object, slim by default (no managedFields, no last-applied copy),
// secrets redacted unless the server allows showing them.
#include "output/redact.hpp"
#include "output/slim.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/resources/resource_tools.hpp"
#include "util/error.hpp"

namespace mk::tools {
namespace json = boost::json;

boost::asio::awaitable<mcp::ToolResult> get_resource(Env& env, Call& c) {
  auto& a = c.args();
  auto name = str(a, "name");
  // An empty name would turn the GET into a list of the whole collection.
  if (name.empty()) fail(Errc::invalid_argument, "name must not be empty (use k8s_list_resources to list)");
  auto t = co_await resolve_target(env, c, /*write=*/false);
  auto v = co_await t.client->get_json(t.path(name));
  if (!v.is_object()) fail(Errc::unavailable, "API server returned a non-object for a get");
  if (str(a, "output", "slim") != "full") output::slim_object(v.as_object());
  if (!env.settings().show_secret_values) output::redact_secrets(v);
  std::string text = co_await k8s::serialize_off_thread(v);  // big lists: not on the I/O thread
  json::object out{{"resource", std::move(v)}, {"context", t.context}};
  if (!t.hint.empty()) out["hint"] = t.hint;
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

json::object get_input_schema() {
  return schema::with_context(schema::object(
      {{"resourceType", schema::string("resource type: plural, singular, Kind or short name; CRDs included")},
       {"apiGroup", schema::string("API group or group/version to disambiguate (apps, apps/v1, core)")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"name", schema::string("object name")},
       {"output",
        schema::string_enum("slim (default) or full (with managedFields and annotations)", {"slim", "full"})}},
      {"resourceType", "name"}));
}

}  // namespace mk::tools
