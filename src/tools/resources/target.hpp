#pragma once
// Resolves a tool call's resourceType/apiGroup/namespace/context into one API target and
// applies the namespace policy. Every resource tool starts here, so the policy cannot be
// bypassed with another spelling of the type or a different context.
#include "app/app.hpp"
#include "k8s/client.hpp"
#include "mcp/tool.hpp"

#include <boost/asio/awaitable.hpp>

namespace mk::tools {

struct Target {
  std::shared_ptr<k8s::Client> client;
  std::string context;
  k8s::ResourceInfo resource;
  std::string ns;  // "" for cluster-scoped resources or all-namespace lists
  bool all_namespaces = false;
  std::string hint;  // e.g. "nodes is cluster-scoped; namespace was ignored"

  std::string path(std::string_view name = {}, std::string_view sub = {}) const {
    return k8s::Client::path_for(resource, ns, name, sub);
  }
};

// `type` and `group` default to the call's resourceType / apiGroup arguments.
boost::asio::awaitable<Target> resolve_target(App& app, const mcp::CallContext& c, bool allow_all_namespaces = false);
boost::asio::awaitable<Target> resolve_target_for(App& app, const mcp::CallContext& c, std::string type,
                                                  std::string group, std::string ns, bool all_namespaces);

// Namespace of an object from metadata.namespace ("" when absent).
std::string object_namespace(const boost::json::object& o);

}  // namespace mk::tools
