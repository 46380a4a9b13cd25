#pragma once
// Step 4 of the pipeline for resource tools: a call's resourceType/apiGroup/namespace/name
// become one API target, with the namespace policy applied to what was resolved (so another
// spelling of the type, a different context or a Namespace object cannot get around it).
// Every resource tool gets its target here.
#include "k8s/client.hpp"
#include "pipeline/pipeline.hpp"

#include <boost/asio/awaitable.hpp>

namespace mk::pipeline {

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

struct TargetQuery {
  std::string type, group;  // resourceType, apiGroup
  std::string ns;           // "" => the context's default namespace (namespaced types)
  std::string name;         // "" for lists and creates by manifest
  bool all_namespaces = false;
  bool write = false;
};

boost::asio::awaitable<Target> resolve_target(Env& env, const Call& c, TargetQuery q);
// From the call's resourceType, apiGroup, namespace and name arguments (and allNamespaces when
// `allow_all_namespaces`).
boost::asio::awaitable<Target> resolve_target(Env& env, const Call& c, bool write, bool allow_all_namespaces = false);

// metadata.namespace / metadata.name of an object ("" when absent).
std::string object_namespace(const boost::json::object& o);
std::string object_name(const boost::json::object& o);

}  // namespace mk::pipeline
