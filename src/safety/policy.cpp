#include "safety/policy.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace mk {

bool is_read_operation(std::string_view o) {
  return o == op::get || o == op::list || o == op::describe || o == op::logs;
}

Policy::Policy(PolicyConfig c)
    : non_destructive_(c.non_destructive), dry_run_(c.dry_run),
      allow_cluster_scoped_writes_(c.allow_cluster_scoped_writes), allowed_ops_(std::move(c.allowed_operations)),
      allowed_(std::move(c.allowed_namespaces)), denied_(std::move(c.denied_namespaces)) {}

bool Policy::operation_allowed(std::string_view o) const {
  if (is_read_operation(o)) return true;
  if (!non_destructive_) return true;
  // Dry-run makes writes harmless, so they may be offered. exec and port-forward cannot be
  // dry-run on the server side, so dry-run alone does not unlock them.
  if (dry_run_ && o != op::exec && o != op::port_forward) return true;
  return std::find(allowed_ops_.begin(), allowed_ops_.end(), o) != allowed_ops_.end();
}

void Policy::check_operation(std::string_view o) const {
  if (operation_allowed(o)) return;
  fail(Errc::policy_denied,
       fmt::format("operation '{}' is not allowed: the server runs in non-destructive mode (start it with "
                   "--non-destructive=false, or --allowed-operations={}{})",
                   o, o, o == op::exec || o == op::port_forward ? "" : ", or --dry-run"));
}

bool Policy::namespace_allowed(std::string_view ns) const {
  if (std::find(denied_.begin(), denied_.end(), ns) != denied_.end()) return false;
  if (allowed_.empty()) return true;
  return std::find(allowed_.begin(), allowed_.end(), ns) != allowed_.end();
}

void Policy::check_namespace(std::string_view ns) const {
  if (namespace_allowed(ns)) return;
  fail(Errc::policy_denied, fmt::format("namespace \"{}\" is not allowed by this server's namespace policy", ns));
}

void Policy::check_target(const TargetRef& t) const {
  if (t.namespaced) {
    if (!t.all_namespaces) check_namespace(t.ns);
    return;
  }
  if (t.is_namespace_kind) {
    if (!t.name.empty()) check_namespace(t.name);
    return;
  }
  if (t.write && restricts_namespaces() && !allow_cluster_scoped_writes_)
    fail(Errc::policy_denied,
         fmt::format("{} is cluster-scoped: writing it reaches beyond the namespaces this server is limited to "
                     "(--allowed-namespaces/--denied-namespaces); the operator can allow it with "
                     "--allow-cluster-scoped-writes",
                     t.resource));
}

}  // namespace mk
