#pragma once
// HTTP(S) to one API server as one identity: keep-alive pool, client-side rate limit
// (--qps-limit/--burst-limit), per-request timeout, retries on 429/503 honouring
// Retry-After, bearer tokens from kubeconfig / token files / exec plugins.
#include "instrumentation/trace.hpp"
#include "k8s/exec_credential.hpp"
#include "k8s/kubeconfig.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mk::k8s {

struct TransportOptions {
  double qps = 20.0;
  int burst = 30;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  // Name resolution, connect and TLS handshake of a new connection; 0 => request_timeout.
  // Federation sets it (--connectivity-timeout) so an unreachable workload cluster fails fast.
  std::chrono::milliseconds connect_timeout{0};
  // Largest API answer read (--max-api-response-bytes). It is buffered and then parsed to
  // several times its size, per concurrent call: 64 MiB holds an unpaged list of ~10k pods
  // while a few such calls in flight stay within a container's memory. Bigger lists page.
  std::size_t max_response_bytes = 64u << 20;
  // A hung exec credential plugin fails the calls waiting for it after this (kubectl has none;
  // client-go's callers put one around the request).
  std::chrono::milliseconds exec_timeout{std::chrono::seconds(60)};
  // Concurrent calls each hold a connection; returning them to a smaller pool meant a new TLS
  // handshake per call under load (bench: 23k connections for 64k calls at 64 in flight).
  std::size_t max_idle_connections = 64;
  int max_retries = 3;
  std::chrono::milliseconds max_retry_wait{std::chrono::seconds(10)};
  std::string user_agent = "mcp-kubernetes";
};

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;  // path and query, already encoded
  std::string body;
  std::string content_type;
  std::string accept = "application/json";
  std::chrono::milliseconds timeout{0};  // 0 => TransportOptions::request_timeout
  // The calling tool call's span: a sampled one makes this request a child span (and sends
  // `traceparent` to the API server). Client::call fills it from the client's own.
  mk::trace::SpanContext trace;  // qualified: a member named like the namespace
};

struct Response {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  int retry_after_s = 0;  // Retry-After header, seconds (0 when absent)
  bool has_retry_after = false;
};

// Whether a request may be sent again after the server may have seen it (Go's net/http
// isReplayable). PUT is left out although HTTP calls it idempotent: a replayed update can
// answer a false Conflict, or overwrite a change made between the two sends.
bool replayable(boost::beast::http::verb v);

// What a request path means, for span names and attributes: `templ` has the names replaced
// ("/api/v1/namespaces/{namespace}/pods/{name}/log") so span names stay few; the verb is
// Kubernetes' (get, list, watch, create, update, patch, delete, deletecollection). `ns` and
// `resource` are views into the target (every API request of a traced call is described, so
// nothing but the template is copied).
struct PathInfo {
  std::string templ;
  std::string_view ns, resource, verb;
};
PathInfo describe_path(std::string_view target, boost::beast::http::verb method);

// Marks `span` failed by `e`: error.type is the mk::Error code's name, "cancelled" or
// "transport" (OpenTelemetry semantic conventions), the status message is e.what().
void record_error(mk::trace::Span& span, const std::exception& e);

class ApiTransport {
 public:
  ApiTransport(boost::asio::any_io_executor ex, RestConfig cfg, TransportOptions opts);
  ~ApiTransport();
  ApiTransport(const ApiTransport&) = delete;
  ApiTransport& operator=(const ApiTransport&) = delete;

  boost::asio::awaitable<Response> send(Request r);

  const RestConfig& config() const { return cfg_; }
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  bool tls() const { return tls_; }
  boost::asio::ssl::context& ssl_context() { return *ssl_; }
  boost::asio::any_io_executor executor() const { return ex_; }
  // The Authorization header value for a request now ("" when the config has none).
  boost::asio::awaitable<std::string> authorization();
  // Impersonation headers from the kubeconfig (as / as-groups).
  std::vector<std::pair<std::string, std::string>> extra_headers() const;
  // The Host header's value ("host:port", an IPv6 address in brackets).
  std::string host_header() const;
  // What every request to this server carries, plain or upgraded: Host, User-Agent,
  // Authorization (when not ""), impersonation, and `traceparent` / `tracestate` when `trace`
  // is valid (the API server continues the caller's trace).
  void set_headers(boost::beast::http::fields& f, const std::string& authorization,
                   const mk::trace::SpanContext& trace) const;
  // A client span for a request to `target` (path and query), a child of `parent`: named by
  // the path template, with the request's attributes. Not recording when `parent` is not
  // sampled or tracing is off. send() and the streams (stream.hpp) share it, so a log follow,
  // an exec or a port-forward reads like any other API request in a trace.
  mk::trace::Span start_span(boost::beast::http::verb method, std::string_view target,
                             const mk::trace::SpanContext& parent) const;

  struct Connection;

 private:
  boost::asio::awaitable<void> rate_limit();
  boost::asio::awaitable<std::unique_ptr<Connection>> acquire(bool fresh);
  void release(std::unique_ptr<Connection> c);
  boost::asio::awaitable<Response> send_once(const Request& r, const std::string& auth);
  struct SendStats {
    int attempts = 0;
    std::chrono::steady_clock::duration throttled{};  // waited for the client-side rate limit
  };
  boost::asio::awaitable<Response> send_attempts(Request r, SendStats* stats);
  void build_ssl_context(const std::string& cert_pem, const std::string& key_pem);
  // Forgets the credentials behind `auth` (the header a request was sent with and got a 401),
  // unless they were already replaced: N requests failing at once run the plugin once.
  void invalidate_credentials(const std::string& auth);
  boost::asio::awaitable<void> refresh_exec_credential();

  boost::asio::any_io_executor ex_;
  RestConfig cfg_;
  TransportOptions opts_;
  std::string host_, port_, base_path_;
  bool tls_ = true;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::deque<std::unique_ptr<Connection>> idle_;
  // token bucket
  double tokens_;
  std::chrono::steady_clock::time_point last_refill_;
  // credentials
  std::optional<ExecCredential> exec_cred_;
  struct ExecRun;                      // one plugin run, shared by every caller waiting for it
  std::shared_ptr<ExecRun> exec_run_;  // set while a run is in flight
  std::string file_token_;
  std::chrono::steady_clock::time_point file_token_read_{};
};

}  // namespace mk::k8s
