#include "tools/resources/target.hpp"

#include "tools/common/args.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace mk::tools {

std::string object_namespace(const boost::json::object& o) {
  if (auto* md = o.if_contains("metadata"); md && md->is_object())
    if (auto* ns = md->as_object().if_contains("namespace"); ns && ns->is_string()) return std::string(ns->as_string());
  return {};
}

boost::asio::awaitable<Target> resolve_target_for(App& app, const mcp::CallContext& c, std::string type,
                                                  std::string group, std::string ns, bool all_namespaces) {
  Target t;
  t.context = app.context_for(c);
  t.client = app.clusters().client(t.context);
  t.resource = co_await t.client->resolve(type, group);
  if (!t.resource.namespaced) {
    if (!ns.empty())
      t.hint = fmt::format("{} is cluster-scoped; the namespace argument was ignored", t.resource.plural);
    co_return t;
  }
  if (all_namespaces) {
    t.all_namespaces = true;
    co_return t;
  }
  t.ns = ns.empty() ? t.client->default_namespace() : ns;
  app.policy().check_namespace(t.ns);
  co_return t;
}

boost::asio::awaitable<Target> resolve_target(App& app, const mcp::CallContext& c, bool allow_all_namespaces) {
  auto& a = c.args();
  co_return co_await resolve_target_for(app, c, str(a, "resourceType"), str(a, "apiGroup"), str(a, "namespace"),
                                        allow_all_namespaces && flag(a, "allNamespaces"));
}

}  // namespace mk::tools
