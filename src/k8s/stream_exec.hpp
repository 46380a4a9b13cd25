#pragma once
// `exec` in a pod over the WebSocket channel protocol (v5.channel.k8s.io, falling back to
// v4.channel.k8s.io): stdout/stderr collected up to caps, optional stdin, exit code from the
// final Status, bounded by a deadline and by the caller's cancellation.
#include "k8s/api_transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::k8s {

struct ExecOptions {
  std::string ns, pod, container;
  std::vector<std::string> command;
  std::optional<std::string> stdin_data;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::size_t max_stdout = 1u << 20, max_stderr = 1u << 20;
  // The tool call's span: a sampled one gets a client span for the whole exec (upgrade to exit).
  mk::trace::SpanContext trace{};
};

struct ExecOutcome {
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
  std::optional<int> exit_code;  // set when the command ran to completion
  std::string failure;           // the API's message when it reported something other than an exit code
  std::string failure_reason;    // that Status's reason (InternalError, ...): never the command line
  bool timed_out = false, cancelled = false;
  std::string protocol;  // negotiated subprotocol
};

// Path and query for the exec upgrade request.
std::string exec_target(const ExecOptions& o);

// The Status JSON on channel 3: Success -> 0; NonZeroExitCode -> its ExitCode cause; an
// "... exit status N" message (kwok, older runtimes) -> N; anything else -> `error`.
struct ExecStatus {
  std::optional<int> exit_code;
  std::string error;
  std::string reason;  // the Status's reason (a CamelCase word), or "" when it has none
};
ExecStatus parse_exec_status(std::string_view status_json);

// The exec's outcome on its client span: protocol, bytes, exit code, how the stream ended. A
// failure without an exit code records its Status reason only: the runtime's message can quote
// the command line, which may hold secrets and is never recorded.
void record_exec_outcome(mk::trace::Span& span, const ExecOutcome& r);

boost::asio::awaitable<ExecOutcome> exec_in_pod(ApiTransport& t, ExecOptions o);

}  // namespace mk::k8s
