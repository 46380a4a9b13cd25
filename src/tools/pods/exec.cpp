// k8s_exec_pod: run a command in a pod container and return stdout, stderr and the exit code.
// A non-zero exit is a normal result; a timeout or a command that could not start is an error.
#include "k8s/stream_exec.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/pods/pod_common.hpp"
#include "tools/pods/pod_tools.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

namespace mk::tools {
namespace json = boost::json;
namespace asio = boost::asio;

namespace {
constexpr std::int64_t kDefaultTimeout = 30;
constexpr std::int64_t kDefaultMaxOutput = 1 << 20;
constexpr std::int64_t kMaxOutput = 8 << 20;
constexpr std::size_t kMaxStdin = 1 << 20;

std::string render(const k8s::ExecOutcome& r) {
  std::string t;
  if (r.exit_code) t = fmt::format("exit code: {}\n", *r.exit_code);
  if (!r.out.empty() || r.err.empty()) {
    t += "--- stdout ---\n" + r.out;
    if (r.out_truncated) t += "\n[stdout truncated at the byte cap]";
    if (!t.empty() && t.back() != '\n') t.push_back('\n');
  }
  if (!r.err.empty()) {
    t += "--- stderr ---\n" + r.err;
    if (r.err_truncated) t += "\n[stderr truncated at the byte cap]";
  }
  return t;
}
}  // namespace

asio::awaitable<mcp::ToolResult> exec_pod(Env& env, Call& c) {
  auto& a = c.args();
  auto ref = pod_ref(env, c, str(a, "name"));
  k8s::ExecOptions o;
  o.ns = ref.ns;
  o.pod = ref.name;
  o.command = str_list(a, "command");
  if (o.command.empty()) fail(Errc::invalid_argument, "command must be a non-empty array, e.g. [\"ls\", \"-l\"]");
  o.stdin_data = opt_str(a, "stdin");
  if (o.stdin_data && o.stdin_data->size() > kMaxStdin)
    fail(Errc::too_large, fmt::format("stdin is {} bytes; the limit is {}", o.stdin_data->size(), kMaxStdin));
  auto secs = opt_int(a, "timeout").value_or(kDefaultTimeout);
  o.timeout = std::chrono::seconds(secs);
  o.max_stdout = o.max_stderr = static_cast<std::size_t>(opt_int(a, "maxOutputBytes").value_or(kDefaultMaxOutput));
  auto pod = co_await fetch_pod(ref);
  o.container = choose_container(pod, str(a, "container"));
  o.trace = ref.client->trace_parent();

  json::object base{{"pod", ref.name}, {"namespace", ref.ns}, {"container", o.container}, {"context", ref.context}};
  std::string argv = fmt::format("{}", fmt::join(o.command, " "));
  if (env.policy().dry_run()) {
    base["dryRun"] = true;
    base["command"] = json::value_from(o.command);
    co_return mcp::ToolResult{std::move(base),
                              fmt::format("dry-run: would run `{}` in {}/{} container {}; nothing was executed", argv,
                                          ref.ns, ref.name, o.container)};
  }

  auto r = co_await k8s::exec_in_pod(ref.client->transport(), o);
  auto budget = env.settings().max_response_bytes > 1024 ? env.settings().max_response_bytes - 1024 : 0;
  if (r.cancelled) fail(Errc::cancelled, "exec was cancelled; the connection to the command was closed");
  if (r.timed_out)
    co_return mcp::ToolResult{{},
                              fit_text(fmt::format("Timeout: `{}` did not finish within {} s; the exec stream was "
                                                   "closed (the process may keep running in the container). "
                                                   "Output so far:\n{}",
                                                   argv, secs, render(r)),
                                       budget),
                              true};
  if (!r.exit_code)
    co_return mcp::ToolResult{
        {},
        fit_text(fmt::format("ExecFailed: `{}` in {}/{}: {}\n{}", argv, ref.ns, ref.name, r.failure, render(r)),
                 budget),
        true};
  base["exitCode"] = *r.exit_code;
  base["stdout"] = r.out;
  base["stderr"] = r.err;
  base["stdoutTruncated"] = r.out_truncated;
  base["stderrTruncated"] = r.err_truncated;
  base["protocol"] = r.protocol;
  co_return mcp::ToolResult{std::move(base), fit_text(render(r), budget)};
}

json::object exec_input_schema() {
  auto cmd =
      schema::string_array("command and arguments, e.g. [\"sh\", \"-c\", \"ls /\"] (no shell unless you run one)");
  cmd["minItems"] = 1;
  return schema::with_context(schema::object(
      {{"name", schema::string("pod name")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"container", schema::string("container (default: the only one, or the pod's default-container annotation)")},
       {"command", cmd},
       {"stdin", schema::string("text sent to the command's stdin (at most 1 MiB)")},
       {"timeout",
        schema::integer("seconds before the command is abandoned (default 30, max 600)", 1, kMaxExecSeconds)},
       {"maxOutputBytes", schema::integer("cap for stdout and for stderr each (default 1 MiB)", 1, kMaxOutput)}},
      {"name", "command"}));
}

}  // namespace mk::tools
