// Registers the pod tools: logs (read-only), exec and port-forward (destructive; offered only
// when the safety policy allows the verb).
#include "tools/pods/pod_tools.hpp"
#include "instrumentation/metrics.hpp"
#include "tools/common/schema.hpp"
#include "tools/registry.hpp"

namespace mk::tools {
namespace json = boost::json;

namespace {
// Counts a pod operation in kubernetes_pod_operations_total / _duration_seconds.
boost::asio::awaitable<mcp::ToolResult> run_observed(std::string operation, pipeline::Handler h, Env& env, Call& c) {
  auto started = std::chrono::steady_clock::now();
  std::string status = "error";
  struct Record {
    const std::string& op;
    std::string& status;
    std::chrono::steady_clock::time_point t0;
    ~Record() {
      auto& m = metrics::Registry::global();
      m.inc("kubernetes_pod_operations_total", {{"operation", op}, {"status", status}});
      m.observe("kubernetes_pod_operation_duration_seconds", {{"operation", op}, {"status", status}},
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  } record{operation, status, started};
  auto r = co_await h(env, c);
  if (!r.is_error) status = "success";
  co_return r;
}

}  // namespace

pipeline::Handler observed(std::string operation, pipeline::Handler h) {
  return [operation, h](Env& env, Call& c) { return run_observed(operation, h, env, c); };
}

void register_pod_tools(Registrar& reg) {
  reg.add({
      .name = "k8s_get_pod_logs",
      .title = "Get pod logs",
      .description = "Logs of a pod container: tailLines (default 100), sinceSeconds/sinceTime, previous, "
                     "timestamps, limitBytes (default 256 KiB), a substring or RE2 regex line filter (searches the "
                     "whole log and returns the last tailLines matches), and follow for up to followSeconds (new "
                     "lines arrive as progress notifications).",
      .input_schema = logs_input_schema(),
      .output_schema = logs_output_schema(),
      .annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false},
      .timeout = std::chrono::seconds(kMaxFollowSeconds + 60),
      .verb = op::logs,
      .handler = observed("logs", get_pod_logs),
  });
  {
    reg.add({
        .name = "k8s_exec_pod",
        .title = "Exec in a pod",
        .description = "Run a command (argv array, no shell unless you call one) in a pod container; returns "
                       "stdout, stderr and exitCode (a non-zero exit is a result, not an error). Optional stdin, "
                       "timeout (default 30 s), output caps. Runs arbitrary code in the container.",
        .input_schema = exec_input_schema(),
        .output_schema = schema::output({{"exitCode", schema::integer("the command's exit code")},
                                         {"stdout", schema::string("")},
                                         {"stderr", schema::string("")},
                                         {"stdoutTruncated", schema::boolean("")},
                                         {"stderrTruncated", schema::boolean("")}},
                                        {}),
        .annotations = {.read_only = false, .destructive = true, .idempotent = false, .open_world = false},
        .timeout = std::chrono::seconds(kMaxExecSeconds + 60),
        .verb = op::exec,
        .handler = observed("exec", exec_pod),
    });
  }
  register_port_forward_tools(reg);
}

}  // namespace mk::tools
