// Registers the resource tools with their metadata and safety class.
#include "tools/common/schema.hpp"
#include "tools/registry.hpp"
#include "tools/resources/resource_tools.hpp"

namespace mk::tools {
namespace json = boost::json;

void register_resource_tools(Registrar& reg) {
  const mcp::ToolAnnotations read{.read_only = true, .destructive = false, .idempotent = true, .open_world = false};
  reg.add({
      .name = "k8s_list_resources",
      .title = "List resources",
      .description = "List Kubernetes resources of any type (CRDs included) in a namespace or across all "
                     "namespaces. Default output is kubectl's columns as tab-separated rows; paging with "
                     "limit/continue never drops items and says when more are available.",
      .input_schema = list_input_schema(),
      .output_schema = schema::output(
          {{"resource", schema::string("")}, {"count", schema::integer("")}, {"hasMore", schema::boolean("")}},
          {"resource"}),
      .annotations = read,
      .verb = op::list,
      .handler = list_resources,
  });
  reg.add({
      .name = "k8s_get_resource",
      .title = "Get a resource",
      .description = "Get one Kubernetes object as JSON. Slim by default (no managedFields, no "
                     "last-applied-configuration); output=full for everything. Secret values are redacted.",
      .input_schema = get_input_schema(),
      .output_schema = schema::output({{"resource", schema::any_object("the object")}}, {"resource"}),
      .annotations = read,
      .verb = op::get,
      .handler = get_resource,
  });
  register_describe_tool(reg);
  register_write_tools(reg);
}

}  // namespace mk::tools
