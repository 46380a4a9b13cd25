#pragma once
// What every write tool shares: the safety checks that run before a request is sent, the
// dry-run and fieldManager query, and the compact per-object summary the tools return.
#include "k8s/client.hpp"
#include "mcp/tool.hpp"
#include "tools/common/tool.hpp"

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace mk::tools {

inline constexpr const char* kDefaultFieldManager = "mcp-kubernetes";

// dryRun=All (when dry) and fieldManager (when non-empty).
k8s::Query write_query(bool dry_run, std::string_view field_manager = {});

// Argument hygiene and the namespace policy (Policy::check_target) for a write to an object of
// `r` in `ns` named `name` that did not come through resolve_target (manifest objects).
void check_write_scope(const Env& env, const k8s::ResourceInfo& r, std::string_view ns, std::string_view name);

// "deployment.apps/web" as kubectl names objects.
std::string object_ref(const k8s::ResourceInfo& r, std::string_view name);

// {"apiVersion","kind","name","namespace"?} of an object as the server returned it.
boost::json::object object_identity(const k8s::ResourceInfo& r, const boost::json::object& o, std::string_view ns);

std::string str_at(const boost::json::object& o, std::string_view a, std::string_view b = {});

// Schema of the `name` argument: required non-empty, since an empty name would address the
// whole collection (DELETE on it is deletecollection).
boost::json::object object_name_schema();
// Throws invalid_argument when the name is empty (defence behind the schema).
std::string required_name(const boost::json::object& args);

// The MCP-facing annotations of the write tools.
mcp::ToolAnnotations write_annotations(bool destructive, bool idempotent);

// Registration of each write tool (only when the policy offers its verb).
void register_create_tool(Registrar& reg);  // create.cpp
void register_apply_tool(Registrar& reg);   // apply.cpp
void register_patch_tool(Registrar& reg);   // patch.cpp
void register_delete_tool(Registrar& reg);  // delete.cpp
void register_scale_tool(Registrar& reg);   // scale.cpp

}  // namespace mk::tools
