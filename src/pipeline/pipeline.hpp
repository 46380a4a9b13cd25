#pragma once
// The one path every tool call takes (docs/architecture.md, "Call pipeline"). A tool declares
// what it is (its verb, schemas, handler) in a ToolSpec; the Registrar is the only way to put
// a tool on the MCP server, and wraps its handler in, in order:
//   1. argument hygiene   (arg_rules.hpp: names / namespaces / containers are path-safe)
//   2. operation gate     (Policy::check_operation for the declared verb)
//   3. limits             (in-flight calls per session and in total)
//   4. target             (identity and context -> Call::client(); resource tools resolve their
//                          type, namespace and name with resolve_target, which applies the
//                          namespace policy, Policy::check_target)
//   5. the handler        (only what is special about the tool)
//   6. output             (secret redaction of structuredContent, caps on text and structuredContent)
// A handler cannot reach the API server except through the Call's client, chosen here.
#include "instrumentation/trace.hpp"
#include "mcp/server.hpp"
#include "mcp/tool.hpp"
#include "pipeline/clusters.hpp"
#include "pipeline/identity.hpp"
#include "pipeline/session_state.hpp"
#include "safety/policy.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mk::federation {
class Federation;
}

namespace mk::pipeline {

// What tools may read of the server's configuration.
struct Settings {
  bool show_secret_values = false;
  std::size_t max_response_bytes = 512 * 1024;  // a result's text; bigger asks to narrow the query
  std::size_t max_structured_bytes = 4u << 20;  // a result's structuredContent, serialized
  std::chrono::milliseconds request_timeout{30000};
  // In-flight tool calls: one session (an agent looping) and the whole server (every session,
  // stateless requests included). Beyond them a call fails at once with TooManyRequests rather
  // than queueing behind work nobody may be waiting for any more.
  std::size_t max_calls_per_session = 16;
  std::size_t max_calls_total = 256;
  // Tool groups' own settings.
  std::size_t log_scan_bytes = 64u << 20;                   // a filtered pod-log search reads at most this much
  int log_scan_seconds = 20;                                // ... for at most this long
  std::vector<std::string> port_forward_allowed_addresses;  // besides loopback (operator's choice)
  std::chrono::seconds port_forward_idle_timeout{30 * 60};  // stateless (2026-07-28) forwards
  std::size_t port_forward_max_stateless = 64;
  // Fleet-wide calls (--enable-capi): clusters called at once by one call, and each one's time.
  std::size_t fleet_max_concurrency = 8;
  std::chrono::milliseconds fleet_cluster_timeout{20000};
};

// The server-wide state tools run against.
class Env {
 public:
  Env(Settings s, Policy p, Clusters& clusters) : settings_(std::move(s)), policy_(std::move(p)), clusters_(clusters) {}
  const Settings& settings() const { return settings_; }
  const Policy& policy() const { return policy_; }
  Clusters& clusters() { return clusters_; }
  // Workload clusters (--enable-capi); nullptr otherwise. Set before tools are registered.
  federation::Federation* federation() const { return federation_; }
  void set_federation(federation::Federation* f) { federation_ = f; }

 private:
  Settings settings_;
  Policy policy_;
  Clusters& clusters_;
  federation::Federation* federation_ = nullptr;
};

// One tool call as a handler sees it: the MCP call (arguments, progress, logging), who is
// calling, and the context and client the pipeline chose.
class Call {
 public:
  Call(mcp::CallContext& mcp, Env& env, std::string context, Identity who)
      : mcp_(mcp), env_(env), context_(std::move(context)), identity_(std::move(who)) {}

  const boost::json::object& args() const { return mcp_.args(); }
  const std::string& tool() const { return mcp_.tool(); }
  bool stateless() const { return mcp_.stateless(); }
  bool wants_progress() const { return mcp_.wants_progress(); }
  void progress(double done, std::optional<double> total = std::nullopt, std::string message = {}) const {
    mcp_.progress(done, total, std::move(message));
  }
  void log(std::string_view level, boost::json::value data) const { mcp_.log(level, std::move(data)); }

  const Identity& identity() const { return identity_; }
  // The kubeconfig context this call runs against: its `context` argument, else the session's
  // selection, else the server's default. "cluster/<name>" on a workload cluster.
  const std::string& context() const { return context_; }
  // The workload cluster this call runs on ("" = the management cluster).
  const std::string& cluster() const { return cluster_; }
  // Sends this call to a workload cluster: client() returns `c` from now on.
  void set_workload(std::string cluster, std::shared_ptr<k8s::Client> c) {
    cluster_ = std::move(cluster);
    context_ = "cluster/" + cluster_;
    workload_ = std::move(c);
  }
  // The API client for context() acting for identity(); its requests are child spans of this call's.
  std::shared_ptr<k8s::Client> client() const {
    auto c = workload_ ? workload_ : env_.clusters().client(context_, identity_);
    if (trace_.sampled()) return c->with_trace(trace_);
    return c;
  }
  // This call's span context (invalid when tracing is off), passed explicitly: see trace.hpp.
  const trace::SpanContext& span_context() const { return trace_; }
  void set_trace(trace::SpanContext t) { trace_ = std::move(t); }
  // This call's session state (shared by all stateless requests: see SessionState).
  SessionState& session() const;
  // dryRun=All for this call's writes: --dry-run, or the call's own dryRun argument.
  bool dry_run() const;

 private:
  mcp::CallContext& mcp_;
  Env& env_;
  std::string context_;
  Identity identity_;
  trace::SpanContext trace_;
  std::string cluster_;
  std::shared_ptr<k8s::Client> workload_;
};

// The span of one tool call ("tools/call <tool>", kind server), parented on the call's
// params._meta traceparent, else its HTTP request's; non-recording when tracing is off.
trace::Span start_call_span(const mcp::CallContext& mc);
// The span of any other request (mcp::Server::set_request_tracer): "<method>", kind server, with
// the same parent rules and attributes.
mcp::RequestFinish start_request_span(const mcp::Session& s, std::string_view method, const boost::json::value& id,
                                      const boost::json::object& params, const mcp::TraceCarrier& transport);

using Handler = std::function<boost::asio::awaitable<mcp::ToolResult>(Env&, Call&)>;

// A tool as declared by its group. Field order follows mcp::Tool so designated initializers read alike.
struct ToolSpec {
  std::string name;
  std::string title;
  std::string description;
  boost::json::object input_schema;
  // Arguments named like API path segments (`name`, `namespace`, ...) are checked as such
  // (arg_rules.hpp) unless listed here: e.g. k8s_switch_context's `name` is a context name.
  std::vector<std::string> free_text_args;
  boost::json::object output_schema;  // empty => no structuredContent
  mcp::ToolAnnotations annotations;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::string_view verb;  // op::get ... op::port_forward: the operation gate; required
  Handler handler;
};

// Counts in-flight calls; a Slot gives its place back when destroyed.
class Limiter {
 public:
  Limiter(std::size_t per_session, std::size_t total) : per_session_(per_session), total_(total) {}
  class Slot;
  // Throws Errc::too_many_requests when `session` or the server is at its limit.
  Slot acquire(const void* session);
  std::size_t in_flight() const { return total_in_flight_; }

 private:
  std::size_t per_session_, total_;
  std::size_t total_in_flight_ = 0;
  std::map<const void*, std::size_t> by_session_;  // only sessions with calls in flight
  void release(const void* session);
};

class Limiter::Slot {
 public:
  Slot(Limiter* l, const void* s) : l_(l), s_(s) {}
  Slot(Slot&& o) noexcept : l_(std::exchange(o.l_, nullptr)), s_(o.s_) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  Slot& operator=(Slot&&) = delete;
  ~Slot() {
    if (l_) l_->release(s_);
  }

 private:
  Limiter* l_;
  const void* s_;
};

class Registrar {
 public:
  Registrar(mcp::Server& server, Env& env);
  Env& env() { return env_; }
  // Puts the tool on the server when the policy offers its verb; returns whether it did.
  bool add(ToolSpec spec);

 private:
  mcp::Server& server_;
  Env& env_;
  std::shared_ptr<Limiter> limiter_;
};

// Secret redaction and the caps on a finished result (step 6), exposed for unit tests.
mcp::ToolResult finish_result(const Settings& s, mcp::ToolResult r);

// Size of `v` serialized, counting no further than `cap` + 1 (so a huge value costs little).
std::size_t serialized_size_upto(const boost::json::value& v, std::size_t cap);

}  // namespace mk::pipeline
