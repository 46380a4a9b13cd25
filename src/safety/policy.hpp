#pragma once
// The server's own guard rails, applied before any request reaches the API server:
// non-destructive mode, dry-run, allowed operations and namespace allow/deny lists.
#include "app/config.hpp"

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

class Policy {
 public:
  explicit Policy(const Config& c);

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

 private:
  bool non_destructive_, dry_run_;
  std::vector<std::string> allowed_ops_, allowed_, denied_;
};

}  // namespace mk
