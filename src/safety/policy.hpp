#pragma once
// The server's own guard rails, applied before any request reaches the API server:
// non-destructive mode, dry-run, allowed operations and namespace allow/deny lists.
#include <string>
#include <string_view>
#include <vector>

namespace mk {

// Operation verbs, as named in --allowed-operations.
namespace op {
inline constexpr std::string_view get = "get", list = "list", describe = "describe", logs = "logs", create = "create",
                                  apply = "apply", patch = "patch", del = "delete", scale = "scale", exec = "exec",
                                  port_forward = "port-forward";
}

bool is_read_operation(std::string_view op);

struct PolicyConfig {
  bool non_destructive = true;
  bool dry_run = false;
  std::vector<std::string> allowed_operations;  // verbs unlocked despite non_destructive
  std::vector<std::string> allowed_namespaces;  // empty => all
  std::vector<std::string> denied_namespaces;
  // Cluster-scoped writes (ClusterRoleBindings, webhooks, CRDs) reach into every namespace, so
  // namespace limits refuse them unless the operator says otherwise.
  bool allow_cluster_scoped_writes = false;
};

// What a call is about to touch, once its resource type is resolved.
struct TargetRef {
  std::string_view resource;  // "deployments.apps", for messages
  bool namespaced = true;
  bool is_namespace_kind = false;  // the core Namespace type itself
  std::string_view ns;             // namespaced: the namespace ("" with all_namespaces)
  std::string_view name;           // "" for lists
  bool all_namespaces = false;
  bool write = false;
};

class Policy {
 public:
  explicit Policy(PolicyConfig c);

  // Whether a tool for this verb is offered at all (tools/list) and may run.
  bool operation_allowed(std::string_view op) const;
  // Throws Errc::policy_denied with a message saying which flag unlocks it.
  void check_operation(std::string_view op) const;
  bool dry_run() const { return dry_run_; }

  bool namespace_allowed(std::string_view ns) const;
  // Throws Errc::policy_denied naming the namespace.
  void check_namespace(std::string_view ns) const;
  // True when some namespaces are hidden: all-namespace lists must be filtered.
  bool restricts_namespaces() const { return !allowed_.empty() || !denied_.empty(); }
  const std::vector<std::string>& allowed_namespaces() const { return allowed_; }

  // The namespace policy for a resolved target; throws Errc::policy_denied saying why:
  //  - a namespaced object: its namespace must be allowed (all-namespace lists are filtered
  //    by the caller with namespace_allowed);
  //  - a Namespace object (get, describe, patch, delete, create): its name must be allowed;
  //  - another cluster-scoped object: reads are allowed; writes are refused while namespace
  //    limits are set, unless allow_cluster_scoped_writes.
  void check_target(const TargetRef& t) const;

 private:
  bool non_destructive_, dry_run_, allow_cluster_scoped_writes_;
  std::vector<std::string> allowed_ops_, allowed_, denied_;
};

}  // namespace mk
