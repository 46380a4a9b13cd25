#pragma once
// API discovery (aggregated v2 where offered, legacy per-group lists otherwise) and the
// resolution of a user's spelling of a resource type to one API resource.
#include <boost/json.hpp>

#include <string>
#include <vector>

namespace mk::k8s {

struct ResourceInfo {
  std::string group;  // "" for core
  std::string version;
  std::string kind;
  std::string plural;
  std::string singular;
  bool namespaced = true;
  bool preferred = true;  // the group's preferred version
  std::vector<std::string> verbs;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> subresources;

  std::string group_version() const { return group.empty() ? version : group + "/" + version; }
  std::string qualified() const { return group.empty() ? plural : plural + "." + group; }
  bool has_verb(std::string_view v) const;
  bool has_subresource(std::string_view s) const;
};

struct DiscoveryDoc {
  std::vector<ResourceInfo> resources;
  bool aggregated = false;  // served by aggregated discovery (two requests, cheap to refresh)
};

// Parsers for the wire formats, kept pure for unit tests.
void parse_aggregated(const boost::json::value& list, DiscoveryDoc& out);  // APIGroupDiscoveryList
void parse_resource_list(const boost::json::value& list, const std::string& group, const std::string& version,
                         bool preferred, DiscoveryDoc& out);  // APIResourceList

// Resolves "deploy", "Deployment", "deployments.apps", "deployments.v1.apps" with an optional
// apiGroup ("apps", "apps/v1", "core", ""). Throws Errc::invalid_argument naming candidates
// when ambiguous and Errc::not_found (with close matches) when unknown.
const ResourceInfo& resolve_resource(const DiscoveryDoc& d, std::string type, std::string api_group);

}  // namespace mk::k8s
