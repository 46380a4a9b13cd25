#pragma once
// Argument hygiene: strings that end up as segments of an API path (object names, namespaces,
// container names, cluster names) are checked before anything is resolved or sent. A name like
// `other/configmaps/cm1` would otherwise walk the URL into another namespace or a proxy
// subresource. Pure functions: no I/O, unit-tested.
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::pipeline {

enum class ArgKind {
  object_name,  // metadata.name: one path segment (DNS subdomain for most kinds; RBAC allows ':' etc.)
  dns_label,    // namespaces, containers, clusters: RFC 1123 label
};

// "" when `v` is acceptable as `kind`; otherwise why not (for the caller, names the rule).
std::string check_value(ArgKind kind, std::string_view v);

// The kind checked for a tool argument of this name (`name`, `namespace`, `podName`, ...), if any.
std::optional<ArgKind> kind_of_argument(std::string_view arg);

// Checks every argument with a known kind (top-level strings, and strings in arrays); throws
// Errc::invalid_argument naming the argument, the value (shortened) and the rule.
// Arguments named in `except` are not checked (the tool declared them free text).
void check_arguments(const boost::json::object& args, const std::vector<std::string>& except = {});

// Throws Errc::invalid_argument when `v` is not acceptable; `what` names it in the message
// ("object 2's metadata.name").
void require_valid(ArgKind kind, std::string_view v, std::string_view what);

}  // namespace mk::pipeline
