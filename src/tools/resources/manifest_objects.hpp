#pragma once
// The manifest path shared by k8s_create_resource and k8s_apply_resource: parse the `manifest`
// argument, resolve every object's type from apiVersion/kind, settle its namespace and check
// the policy for ALL objects before the first write, then write them one by one.
#include "k8s/client.hpp"
#include "mcp/tool.hpp"
#include "tools/common/tool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mk::tools {

struct ManifestObject {
  boost::json::object body;                   // what is sent; metadata.namespace settled
  std::optional<k8s::ResourceInfo> resource;  // empty: its CRD comes earlier in this manifest
  std::string api_version, kind, name, ns;    // ns: effective namespace ("" when cluster-scoped)
  std::string label;                          // "object 2 (apps/v1 Deployment web)" for messages
};

// Writes one object; returns its result entry (identity, action, resourceVersion, ...) and
// appends a line to `text`.
using ObjectWriter = std::function<boost::asio::awaitable<boost::json::object>(
    std::shared_ptr<k8s::Client> client, ManifestObject& obj, bool dry_run, std::string& text)>;

// Runs a create/apply call: plan, then `write` per object. One object's API error does not
// stop the others (like kubectl); the result lists each outcome and is an error if any failed.
boost::asio::awaitable<mcp::ToolResult> run_manifest(Env& env, Call& c, bool require_name, ObjectWriter write);

// Schemas shared by both tools (`force` only for apply).
boost::json::object manifest_input_schema(bool apply);
boost::json::object manifest_output_schema();

}  // namespace mk::tools
