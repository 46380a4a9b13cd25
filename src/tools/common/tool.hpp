#pragma once
// What a tool handler works with: the pipeline's Env (settings, policy, clusters) and Call (the
// arguments, the caller, the chosen context and client), and resolve_target for resource types.
#include "mcp/tool.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/target.hpp"
#include "safety/policy.hpp"

namespace mk::tools {

using mcp::ToolResult;
using pipeline::Call;
using pipeline::Env;
using pipeline::object_namespace;
using pipeline::Registrar;
using pipeline::resolve_target;
using pipeline::Target;
using pipeline::TargetQuery;
using pipeline::ToolSpec;

}  // namespace mk::tools
