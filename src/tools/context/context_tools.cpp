// k8s_list_contexts, k8s_get_current_context, k8s_switch_context. Credentials are never part
// of the output; a switch only changes this MCP session's view.
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/registry.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

namespace mk::tools {
namespace {
namespace json = boost::json;
using mcp::ToolResult;

std::string session_context(Env& env, const Call& c) {
  if (auto& ks = c.session(); !ks.context.empty()) return ks.context;
  return env.clusters().default_context();
}

json::object describe_context(Env& env, const k8s::ContextInfo& cx, const std::string& current) {
  auto& kc = env.clusters().kubeconfig();
  json::object o{{"name", cx.name},
                 {"cluster", cx.cluster},
                 {"user", cx.user},
                 {"namespace", cx.namespace_.empty() ? "default" : cx.namespace_},
                 {"current", cx.name == current}};
  if (auto it = kc.clusters.find(cx.cluster); it != kc.clusters.end()) o["server"] = it->second.server;
  return o;
}
}  // namespace

void register_context_tools(Registrar& reg) {
  if (reg.env().clusters().in_cluster()) return;  // one identity, one cluster: nothing to choose
  auto ctx_out = schema::output({{"contexts", json::object{{"type", "array"}}}, {"current", schema::string("")}},
                                {"contexts", "current"});
  reg.add({
      .name = "k8s_list_contexts",
      .title = "List kubeconfig contexts",
      .description = "List the kubeconfig contexts this server can use, marking the current one. "
                     "Shows cluster, server URL, user name and default namespace; never credentials.",
      .input_schema = schema::object({}),
      .output_schema = ctx_out,
      .annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false},
      .verb = op::get,  // reads the kubeconfig; a switch changes only this session
      .handler = [](Env& env, Call& c) -> boost::asio::awaitable<ToolResult> {
        auto current = session_context(env, c);
        json::array arr;
        std::string text;
        for (auto& cx : env.clusters().kubeconfig().contexts) {
          arr.push_back(describe_context(env, cx, current));
          text += fmt::format("{} {}  cluster={} namespace={}\n", cx.name == current ? "*" : " ", cx.name, cx.cluster,
                              cx.namespace_.empty() ? "default" : cx.namespace_);
        }
        co_return ToolResult{json::object{{"contexts", std::move(arr)}, {"current", current}}, text};
      },
  });
  reg.add({
      .name = "k8s_get_current_context",
      .title = "Get current context",
      .description = "Show the context this MCP session currently uses, with its cluster, server and namespace.",
      .input_schema = schema::object({}),
      .output_schema = schema::output({{"name", schema::string("")}}, {"name"}),
      .annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false},
      .verb = op::get,  // reads the kubeconfig; a switch changes only this session
      .handler = [](Env& env, Call& c) -> boost::asio::awaitable<ToolResult> {
        auto current = session_context(env, c);
        auto* cx = env.clusters().kubeconfig().find_context(current);
        if (!cx) fail(Errc::not_found, fmt::format("current context \"{}\" is not in the kubeconfig", current));
        auto o = describe_context(env, *cx, current);
        auto text = fmt::format("{} (cluster {}, server {}, namespace {})", current, cx->cluster,
                                o.contains("server") ? std::string(o["server"].as_string()) : "?",
                                std::string(o["namespace"].as_string()));
        co_return ToolResult{std::move(o), text};
      },
  });
  reg.add({
      .name = "k8s_switch_context",
      .title = "Switch context",
      .description = "Switch the context used by later calls in this MCP session. Does not modify the "
                     "kubeconfig file and does not affect other sessions.",
      .input_schema = schema::object({{"name", schema::string("context name (see k8s_list_contexts)")}}, {"name"}),
      .free_text_args = {"name"},  // a context name, looked up in the kubeconfig: not an API path
      .output_schema =
          schema::output({{"previous", schema::string("")}, {"current", schema::string("")}}, {"previous", "current"}),
      .annotations = {.read_only = false, .destructive = false, .idempotent = true, .open_world = false},
      .verb = op::get,  // reads the kubeconfig; a switch changes only this session
      .handler = [](Env& env, Call& c) -> boost::asio::awaitable<ToolResult> {
        auto name = str(c.args(), "name");
        if (c.stateless())
          fail(Errc::invalid_argument,
               "2026-07-28 requests are stateless, so a switch would not outlive this call: pass "
               "`context` on each tool call instead");
        if (!env.clusters().has_context(name))
          fail(Errc::not_found, fmt::format("context \"{}\" not found; available: {}", name, [&] {
                 std::string s;
                 for (auto& cx : env.clusters().kubeconfig().contexts) s += (s.empty() ? "" : ", ") + cx.name;
                 return s;
               }()));
        auto previous = session_context(env, c);
        c.session().context = name;
        co_return ToolResult{json::object{{"previous", previous}, {"current", name}},
                             fmt::format("switched context: {} -> {}", previous, name)};
      },
  });
}

}  // namespace mk::tools
