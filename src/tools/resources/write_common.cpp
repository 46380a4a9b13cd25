#include "tools/resources/write_common.hpp"

#include "pipeline/arg_rules.hpp"
#include "tools/common/args.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace mk::tools {
namespace json = boost::json;

k8s::Query write_query(bool dry_run, std::string_view field_manager) {
  k8s::Query q;
  if (dry_run) q.emplace_back("dryRun", "All");
  if (!field_manager.empty()) q.emplace_back("fieldManager", std::string(field_manager));
  return q;
}

void check_write_scope(const Env& env, const k8s::ResourceInfo& r, std::string_view ns, std::string_view name) {
  if (!name.empty()) pipeline::require_valid(pipeline::ArgKind::object_name, name, "metadata.name");
  if (r.namespaced) pipeline::require_valid(pipeline::ArgKind::dns_label, ns, "metadata.namespace");
  auto qualified = r.qualified();
  env.policy().check_target({.resource = qualified,
                             .namespaced = r.namespaced,
                             .is_namespace_kind = r.group.empty() && r.plural == "namespaces",
                             .ns = ns,
                             .name = name,
                             .all_namespaces = false,
                             .write = true});
}

std::string object_ref(const k8s::ResourceInfo& r, std::string_view name) {
  std::string kind = r.kind;
  for (auto& ch : kind) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!r.group.empty()) kind += "." + r.group;
  return fmt::format("{}/{}", kind, name);
}

std::string str_at(const json::object& o, std::string_view a, std::string_view b) {
  const json::value* v = o.if_contains(a);
  if (v && !b.empty()) v = v->is_object() ? v->as_object().if_contains(b) : nullptr;
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object object_identity(const k8s::ResourceInfo& r, const json::object& o, std::string_view ns) {
  json::object id{{"apiVersion", r.group_version()}, {"kind", r.kind}, {"name", str_at(o, "metadata", "name")}};
  if (r.namespaced) id["namespace"] = ns;
  return id;
}

json::object object_name_schema() {
  json::object s{{"type", "string"}, {"description", "object name"}, {"minLength", 1}};
  return s;
}

std::string required_name(const json::object& args) {
  std::string n = str(args, "name");
  if (n.empty()) fail(Errc::invalid_argument, "name must not be empty");
  return n;
}

mcp::ToolAnnotations write_annotations(bool destructive, bool idempotent) {
  return {.read_only = false, .destructive = destructive, .idempotent = idempotent, .open_world = false};
}

}  // namespace mk::tools
