#pragma once
// One registration function per tool group; app/register.cpp calls them all. Tools reach the
// MCP server only through the pipeline's Registrar, so none can skip its checks.
#include "pipeline/pipeline.hpp"

namespace mk::tools {

void register_resource_tools(pipeline::Registrar& reg);
void register_context_tools(pipeline::Registrar& reg);
void register_cluster_tools(pipeline::Registrar& reg);
void register_pod_tools(pipeline::Registrar& reg);   // tools/pods: logs, exec, port-forward
void register_capi_tools(pipeline::Registrar& reg);  // tools/capi: workload clusters (--enable-capi)

}  // namespace mk::tools
