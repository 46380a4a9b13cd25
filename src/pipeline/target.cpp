#include "pipeline/target.hpp"

#include "pipeline/arg_rules.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace mk::pipeline {

namespace {
std::string metadata_string(const boost::json::object& o, std::string_view field) {
  if (auto* md = o.if_contains("metadata"); md && md->is_object())
    if (auto* v = md->as_object().if_contains(field); v && v->is_string()) return std::string(v->as_string());
  return {};
}
}  // namespace

std::string object_namespace(const boost::json::object& o) { return metadata_string(o, "namespace"); }
std::string object_name(const boost::json::object& o) { return metadata_string(o, "name"); }

boost::asio::awaitable<Target> resolve_target(Env& env, const Call& c, TargetQuery q) {
  // Arguments were checked on the way in; names from manifests and defaults are checked here.
  if (!q.name.empty()) require_valid(ArgKind::object_name, q.name, "name");
  if (!q.ns.empty()) require_valid(ArgKind::dns_label, q.ns, "namespace");
  Target t;
  t.context = c.context();
  t.client = c.client();
  t.resource = co_await t.client->resolve(q.type, q.group);
  if (!t.resource.namespaced) {
    if (!q.ns.empty())
      t.hint = fmt::format("{} is cluster-scoped; the namespace argument was ignored", t.resource.plural);
  } else if (q.all_namespaces) {
    t.all_namespaces = true;
  } else {
    t.ns = q.ns.empty() ? t.client->default_namespace() : q.ns;
    if (t.ns.empty()) t.ns = "default";
  }
  auto qualified = t.resource.qualified();
  env.policy().check_target({.resource = qualified,
                             .namespaced = t.resource.namespaced,
                             .is_namespace_kind = t.resource.group.empty() && t.resource.plural == "namespaces",
                             .ns = t.ns,
                             .name = q.name,
                             .all_namespaces = t.all_namespaces,
                             .write = q.write});
  co_return t;
}

boost::asio::awaitable<Target> resolve_target(Env& env, const Call& c, bool write, bool allow_all_namespaces) {
  auto str = [&](std::string_view k) {
    auto* v = c.args().if_contains(k);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  auto* all = c.args().if_contains("allNamespaces");
  TargetQuery q{.type = str("resourceType"),
                .group = str("apiGroup"),
                .ns = str("namespace"),
                .name = str("name"),
                .all_namespaces = allow_all_namespaces && all && all->is_bool() && all->as_bool(),
                .write = write};
  co_return co_await resolve_target(env, c, std::move(q));
}

}  // namespace mk::pipeline
