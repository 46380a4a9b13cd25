#include "tools/resources/manifest_objects.hpp"

#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/resources/write_common.hpp"
#include "util/blocking.hpp"
#include "util/error.hpp"
#include "util/yaml.hpp"

#include <fmt/core.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mk::tools {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kParseInlineBytes = 64 << 10;  // bigger manifests are parsed off the io thread
constexpr int kCrdWaitAttempts = 40;                 // x 250 ms: a new CRD is served within seconds
constexpr std::chrono::milliseconds kCrdWaitStep{250};

bool is_crd(const json::object& o) {
  return str_at(o, "kind") == "CustomResourceDefinition" &&
         str_at(o, "apiVersion").starts_with("apiextensions.k8s.io/");
}

std::string error_text(const Error& e) { return fmt::format("{}: {}", to_string(e.code()), e.what()); }

// Settles the namespace of a resolved object and checks the policy for it.
void settle_scope(const Env& env, const k8s::Client& client, ManifestObject& mo, const std::string& arg_ns) {
  auto& ri = *mo.resource;
  auto& md = mo.body["metadata"].as_object();
  std::string md_ns = str_at(mo.body, "metadata", "namespace");
  if (ri.namespaced) {
    mo.ns = !md_ns.empty() ? md_ns : !arg_ns.empty() ? arg_ns : client.default_namespace();
    if (mo.ns.empty()) mo.ns = "default";
    md["namespace"] = mo.ns;  // the server sees exactly the namespace the policy checked
  } else {
    mo.ns.clear();
    md.erase("namespace");  // cluster-scoped objects have none; kubectl ignores it too
  }
  try {
    check_write_scope(env, ri, mo.ns, mo.name);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}: {}", mo.label, e.what()));
  }
}

asio::awaitable<std::vector<ManifestObject>> plan(Env& env, const Call& c, k8s::Client& client, bool require_name) {
  auto& a = c.args();
  std::string text = str(a, "manifest");
  std::string arg_ns = str(a, "namespace");
  std::vector<json::object> objects;
  if (text.size() <= kParseInlineBytes) objects = yaml::parse_manifest(text);
  else {
    // Capture by pointer (text outlives the wait): under g++ 12 run_blocking destroys its
    // function object twice, which is only harmless for a trivially destructible closure.
    const std::string* t = &text;
    auto job = [t] { return yaml::parse_manifest(*t); };
    objects = co_await run_blocking(std::move(job));
  }

  std::vector<ManifestObject> out;
  bool crd_earlier = false;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    ManifestObject mo;
    mo.body = std::move(objects[i]);
    mo.api_version = str_at(mo.body, "apiVersion");
    mo.kind = str_at(mo.body, "kind");
    mo.name = str_at(mo.body, "metadata", "name");
    mo.label = fmt::format("object {} ({} {} {})", i + 1, mo.api_version.empty() ? "?" : mo.api_version,
                           mo.kind.empty() ? "?" : mo.kind, mo.name.empty() ? "<no name>" : mo.name);
    if (mo.api_version.empty() || mo.kind.empty())
      fail(Errc::invalid_argument, fmt::format("{}: apiVersion and kind are required", mo.label));
    auto* md = mo.body.if_contains("metadata");
    if (!md || !md->is_object()) fail(Errc::invalid_argument, fmt::format("{}: metadata is required", mo.label));
    if (mo.name.empty() && (require_name || str_at(mo.body, "metadata", "generateName").empty()))
      fail(Errc::invalid_argument,
           fmt::format("{}: metadata.name is required{}", mo.label,
                       require_name ? " (server-side apply needs a name)" : " (or generateName)"));
    if (auto* n = md->as_object().if_contains("namespace"); n && !n->is_string())
      fail(Errc::invalid_argument, fmt::format("{}: metadata.namespace must be a string", mo.label));
    // A manifest cannot redirect a call made for one namespace into another one.
    std::string md_ns = str_at(mo.body, "metadata", "namespace");
    if (!arg_ns.empty() && !md_ns.empty() && md_ns != arg_ns)
      fail(Errc::invalid_argument,
           fmt::format("{}: metadata.namespace \"{}\" does not match the namespace argument \"{}\"; drop one of them",
                       mo.label, md_ns, arg_ns));
    try {
      mo.resource = co_await client.resolve(mo.kind, mo.api_version);
    } catch (const Error& e) {
      if (e.code() != Errc::not_found || !crd_earlier) throw Error(e.code(), fmt::format("{}: {}", mo.label, e.what()));
    }
    if (mo.resource) settle_scope(env, client, mo, arg_ns);
    crd_earlier = crd_earlier || is_crd(mo.body);
    out.push_back(std::move(mo));
  }
  co_return out;
}

// An object whose CRD was created earlier in this call: wait (bounded) until discovery serves it.
asio::awaitable<void> resolve_late(k8s::Client& client, ManifestObject& mo) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int attempt = 0;; ++attempt) {
    auto doc = co_await client.discovery(true);
    try {
      mo.resource = k8s::resolve_resource(*doc, mo.kind, mo.api_version);
      co_return;
    } catch (const Error& e) {
      if (e.code() != Errc::not_found || attempt + 1 >= kCrdWaitAttempts)
        throw Error(e.code(), fmt::format("{}: {}", mo.label, e.what()));
    }
    timer.expires_after(kCrdWaitStep);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace

asio::awaitable<mcp::ToolResult> run_manifest(Env& env, Call& c, bool require_name, ObjectWriter write) {
  auto context = c.context();
  auto client = c.client();
  bool dry = c.dry_run();
  std::string arg_ns = str(c.args(), "namespace");
  auto objects = co_await plan(env, c, *client, require_name);

  json::array results;
  std::string text;
  std::size_t failed = 0;
  for (auto& mo : objects) {
    std::optional<Error> err;
    try {
      if (!mo.resource) {
        co_await resolve_late(*client, mo);
        settle_scope(env, *client, mo, arg_ns);
      }
      results.push_back(co_await write(client, mo, dry, text));
    } catch (const Error& e) {
      err = e;
    }
    if (err) {
      ++failed;
      std::string msg = error_text(*err);
      text += fmt::format("{}: {}\n", mo.label, msg);
      json::object r{{"apiVersion", mo.api_version}, {"kind", mo.kind}, {"name", mo.name}, {"error", msg}};
      if (!mo.ns.empty()) r["namespace"] = mo.ns;
      results.push_back(std::move(r));
    }
  }
  if (failed) text += fmt::format("{} of {} objects failed\n", failed, objects.size());
  if (dry) text = "(dry run: nothing was persisted)\n" + text;
  json::object out{{"results", std::move(results)}, {"dryRun", dry}, {"context", context}};
  if (!text.empty() && text.back() == '\n') text.pop_back();
  mcp::ToolResult r{std::move(out), std::move(text)};
  r.is_error = failed > 0;
  co_return r;
}

json::object manifest_input_schema(bool apply) {
  auto s = schema::object(
      {{"manifest", schema::string("YAML or JSON: one object, several documents separated by ---, or a List")},
       {"namespace", schema::string("namespace for objects that do not set metadata.namespace (default: the "
                                    "context's); must match metadata.namespace where both are given")},
       {"fieldManager", schema::string(apply ? "field manager of the apply (default mcp-kubernetes)"
                                             : "field manager recorded for the new objects (default mcp-kubernetes)")},
       {"dryRun", schema::boolean("validate and default on the server without persisting (dryRun=All)")}},
      {"manifest"});
  auto& props = s["properties"].as_object();
  props["manifest"].as_object()["minLength"] = 1;
  if (apply)
    props["force"] = schema::boolean(
        "take ownership of fields another manager owns instead of failing with a "
        "conflict (default false)");
  return schema::with_context(std::move(s));
}

json::object manifest_output_schema() {
  json::object item{{"type", "object"},
                    {"properties", json::object{{"apiVersion", schema::string("")},
                                                {"kind", schema::string("")},
                                                {"name", schema::string("")},
                                                {"namespace", schema::string("")},
                                                {"action", schema::string("created, configured or unchanged")},
                                                {"resourceVersion", schema::string("")},
                                                {"error", schema::string("why this object failed")}}}};
  json::object results{
      {"type", "array"}, {"description", "one entry per object, in manifest order"}, {"items", std::move(item)}};
  return schema::output({{"results", std::move(results)},
                         {"dryRun", schema::boolean("true when nothing was persisted (dryRun=All)")},
                         {"context", schema::string("")}},
                        {"results", "dryRun"});
}

}  // namespace mk::tools
