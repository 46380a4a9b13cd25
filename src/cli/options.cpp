#include "cli/options.hpp"

#include "cli/oauth_options.hpp"

#include "federation/settings.hpp"

#include "tools/pods/forward_address.hpp"
#include "util/error.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace mk::cli {
namespace {

std::vector<std::string> split_csv(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (auto& s : in) {
    std::size_t start = 0;
    while (start <= s.size()) {
      auto p = s.find(',', start);
      auto part = s.substr(start, p == std::string::npos ? std::string::npos : p - start);
      if (!part.empty()) out.push_back(part);
      if (p == std::string::npos) break;
      start = p + 1;
    }
  }
  return out;
}

void add_serve_flags(CLI::App& app, Config& c, std::vector<std::string>& ops, std::vector<std::string>& allow_ns,
                     std::vector<std::string>& deny_ns, double& timeout_s, int& session_idle_s, int& shutdown_grace_s) {
  app.add_flag("--non-destructive", c.non_destructive,
               "Only offer read tools and refuse writes (use --non-destructive=false to allow writes)")
      ->default_val(true);
  app.add_flag("--dry-run", c.dry_run, "Run writes with server-side dryRun=All; nothing is persisted")
      ->default_val(false);
  app.add_option("--allowed-operations", ops,
                 "Comma-separated verbs allowed despite --non-destructive (create,apply,patch,delete,scale,exec,"
                 "port-forward)")
      ->envname("MCP_ALLOWED_OPERATIONS")
      ->delimiter(',');
  app.add_option("--allowed-namespaces", allow_ns, "Comma-separated namespaces the tools may touch (default: all)")
      ->envname("MCP_ALLOWED_NAMESPACES")
      ->delimiter(',');
  app.add_option("--denied-namespaces", deny_ns, "Comma-separated namespaces the tools must never touch")
      ->envname("MCP_DENIED_NAMESPACES")
      ->delimiter(',');
  app.add_option("--port-forward-allowed-addresses", c.port_forward_allowed_addresses,
                 "Comma-separated IP addresses besides loopback that port-forwards may listen on "
                 "(0.0.0.0 or :: = every interface; default: loopback only)")
      ->envname("MCP_PORT_FORWARD_ALLOWED_ADDRESSES")
      ->delimiter(',');
  app.add_option_function<int>(
         "--port-forward-idle-timeout", [&c](const int& s) { c.port_forward_idle_timeout = std::chrono::seconds(s); },
         "Seconds a port-forward started by a stateless (2026-07-28) request lives without use")
      ->envname("MCP_PORT_FORWARD_IDLE_TIMEOUT")
      ->default_str("1800")
      ->check(CLI::Range(1, 7 * 24 * 3600));
  app.add_option("--port-forward-max-stateless", c.port_forward_max_stateless,
                 "Most port-forwards started by stateless (2026-07-28) requests at a time")
      ->envname("MCP_PORT_FORWARD_MAX_STATELESS")
      ->default_val(64)
      ->check(CLI::Range(1, 10000));
  app.add_flag("--show-secret-values", c.show_secret_values, "Return Secret data unredacted (default: redacted)")
      ->default_val(false);
  app.add_option("--qps-limit", c.qps, "QPS limit for Kubernetes API calls")
      ->default_val(50.0)
      ->check(CLI::PositiveNumber);
  app.add_option("--burst-limit", c.burst, "Burst limit for Kubernetes API calls")
      ->default_val(300)
      ->check(CLI::Range(1, 100000));
  app.add_option("--request-timeout", timeout_s, "Timeout of one Kubernetes API request, in seconds")
      ->default_val(30.0)
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--max-response-bytes", c.max_response_bytes,
                 "Largest tool result text; bigger results ask the caller to narrow the query")
      ->default_val(512 * 1024)
      ->check(CLI::Range(1024, 64 << 20));
  app.add_option(
         "--max-structured-bytes", c.max_structured_bytes,
         "Largest tool result structuredContent (serialized); bigger results ask the caller to narrow the query")
      ->default_val(4u << 20)
      ->check(CLI::Range(1024, 256 << 20));
  app.add_option("--max-session-concurrent-calls", c.max_session_concurrent_calls,
                 "Tool calls one MCP session may have in flight; more fail with TooManyRequests")
      ->default_val(16)
      ->check(CLI::Range(1, 10000));
  app.add_option("--max-concurrent-calls", c.max_concurrent_calls,
                 "Tool calls the whole server runs at once (all sessions); more fail with TooManyRequests")
      ->default_val(256)
      ->check(CLI::Range(1, 100000));
  app.add_flag("--allow-cluster-scoped-writes", c.allow_cluster_scoped_writes,
               "Allow writes to cluster-scoped objects (ClusterRoleBindings, CRDs, webhooks) while "
               "--allowed-namespaces/--denied-namespaces are set (default: refused)")
      ->default_val(false);
  app.add_option("--max-api-response-bytes", c.max_api_response_bytes,
                 "Largest Kubernetes API answer read (each one in flight is held in memory and parsed); bigger "
                 "answers fail and ask for limit/continue or selectors")
      ->default_val(std::size_t{64} << 20)
      ->check(CLI::Range(std::size_t{64} << 10, std::size_t{4} << 30));
  app.add_option("--log-scan-bytes", c.log_scan_bytes,
                 "Bytes of a pod log that one filtered k8s_get_pod_logs call searches at most")
      ->default_val(64u << 20)
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 34));
  app.add_option("--log-scan-seconds", c.log_scan_seconds,
                 "Seconds one filtered k8s_get_pod_logs call searches at most")
      ->default_val(20)
      ->check(CLI::Range(1, 3600));
  app.add_flag("--in-cluster", c.in_cluster, "Use the pod's service account instead of a kubeconfig")
      ->default_val(false);
  app.add_option("--context", c.context, "kubeconfig context to start with (default: current-context)")
      ->envname("MCP_KUBE_CONTEXT");
  app.add_flag("--debug", c.debug, "Enable debug logging")->default_val(false);
  app.add_option("--log-format", c.log_format, "Log format on stderr")
      ->default_val("text")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--transport", c.transport, "Transport type")
      ->default_val("stdio")
      ->check(CLI::IsMember({"stdio", "streamable-http"}));
  app.add_option("--http-addr", c.http_addr, "HTTP server address (streamable-http)")->default_val(":8080");
  app.add_option("--http-endpoint", c.http_endpoint, "HTTP endpoint path (streamable-http)")->default_val("/mcp");
  app.add_flag("--disable-streaming", c.disable_streaming, "Answer with JSON only, never SSE (streamable-http)")
      ->default_val(false);
  app.add_option("--tls-cert,--tls-cert-file", c.tls_cert, "TLS certificate (PEM) for the HTTP listener")
      ->envname("TLS_CERT_FILE")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key,--tls-key-file", c.tls_key, "TLS private key (PEM) for the HTTP listener")
      ->envname("TLS_KEY_FILE")
      ->check(CLI::ExistingFile);
  app.add_option("--metrics-addr", c.metrics_addr, "Extra listener for /metrics, e.g. :9090 (default: HTTP port only)");
  app.add_option("--allowed-origins", c.allowed_origins, "Comma-separated browser Origins allowed besides loopback")
      ->envname("ALLOWED_ORIGINS")
      ->delimiter(',');
  app.add_option("--max-sessions", c.max_sessions, "Most concurrent MCP sessions over HTTP")
      ->default_val(1000)
      ->check(CLI::Range(1, 1000000));
  app.add_option("--max-sessions-per-client", c.max_sessions_per_client,
                 "Most MCP sessions per client IP address over HTTP; beyond it the client's idlest session is "
                 "evicted. Behind a reverse proxy every client shares the proxy's address: raise it to --max-sessions")
      ->default_val(100)
      ->check(CLI::Range(1, 1000000));
  app.add_option("--session-idle-timeout", session_idle_s, "Seconds an idle HTTP MCP session is kept")
      ->default_val(1800)
      ->check(CLI::Range(1, 7 * 24 * 3600));
  app.add_option("--shutdown-grace", shutdown_grace_s, "Seconds in-flight requests get to finish on SIGTERM")
      ->default_val(10)
      ->check(CLI::Range(0, 600));
  // Tracing: the OTEL_* / TRACING_EXPORTER environment is read by trace::apply_env (flags win).
  app.add_option("--instrumentation-enabled", c.tracing.instrumentation_enabled,
                 "Turn all tracing off with false (env INSTRUMENTATION_ENABLED; default true)")
      ->check(CLI::IsMember({"true", "false"}));
  app.add_option("--tracing-exporter", c.tracing.exporter, "Where spans go (env TRACING_EXPORTER; default none)")
      ->check(CLI::IsMember({"otlp", "stdout", "none"}));
  app.add_option("--otlp-endpoint", c.tracing.endpoint,
                 "OTLP/HTTP collector base URL, e.g. http://localhost:4318 (env OTEL_EXPORTER_OTLP_ENDPOINT)");
  app.add_option("--traces-sampler", c.tracing.sampler,
                 "Sampler (env OTEL_TRACES_SAMPLER; default parentbased_traceidratio)");
  app.add_option("--traces-sampler-arg", c.tracing.sampler_arg,
                 "Sampling ratio 0..1 for new traces (env OTEL_TRACES_SAMPLER_ARG; default 1)");
  app.add_option("--propagate-trace-to-apiserver", c.tracing.propagate_to_apiserver,
                 "Send each API request's traceparent to the API server, for one that traces (env "
                 "PROPAGATE_TRACE_TO_APISERVER; default false)")
      ->check(CLI::IsMember({"true", "false", "1", "0"}));
  app.add_option("--metrics-exporter", c.metrics_export.exporter,
                 "Also push the /metrics registry: otlp or stdout (env METRICS_EXPORTER; default prometheus)")
      ->check(CLI::IsMember({"prometheus", "otlp", "stdout"}));
}

// Federation (issue 14): flags as strings where the original takes Go durations or JSON.
struct CapiRaw {
  std::string group_mappings, cache_ttl = "10m", connect_timeout = "5s", request_timeout = "30s",
                              cluster_timeout = "20s";
};

void add_capi_flags(CLI::App& app, Config& c, CapiRaw& raw) {
  app.add_flag("--enable-capi", c.enable_capi,
               "Reach Cluster API workload clusters through this (management) cluster: a cluster argument on every "
               "Kubernetes tool and the capi_* tools")
      ->envname("CAPI_MODE_ENABLED")
      ->default_val(false);
  app.add_option("--wc-auth-mode", c.wc_auth_mode,
                 "How workload-cluster calls authenticate: impersonation (the kubeconfig Secret plus Impersonate-* "
                 "headers of the OAuth user) or sso-passthrough (the user's ID token)")
      ->envname("WC_AUTH_MODE")
      ->default_val("impersonation")
      ->check(CLI::IsMember({"impersonation", "sso-passthrough"}));
  app.add_option("--capi-access-check", c.capi_access_check,
                 "rbac: a signed-in user sees and uses only the Cluster objects the management cluster's RBAC lets "
                 "them get (SubjectAccessReview); none: every user sees every Cluster object")
      ->envname("CAPI_ACCESS_CHECK")
      ->default_val("rbac")
      ->check(CLI::IsMember({"rbac", "none"}));
  app.add_option("--wc-ca-configmap-suffix", c.wc_ca_configmap_suffix,
                 "sso-passthrough: the ConfigMap <cluster><suffix> (key ca.crt) holds a workload cluster's CA")
      ->envname("WC_CA_CONFIGMAP_SUFFIX")
      ->default_val("-ca-public");
  app.add_option("--wc-group-mappings", raw.group_mappings,
                 "JSON object mapping the user's groups to workload-cluster groups, e.g. {\"idp-admins\":\"ops\"} "
                 "(at most 100; never to system:masters, system:nodes or system:kube-*)")
      ->envname("WC_GROUP_MAPPINGS");
  app.add_option("--client-cache-ttl", raw.cache_ttl, "How long a workload-cluster client is reused (Go duration)")
      ->envname("CLIENT_CACHE_TTL");
  app.add_option("--client-cache-max-entries", c.client_cache_max_entries,
                 "Most workload-cluster clients kept (one per cluster, user, groups and token)")
      ->envname("CLIENT_CACHE_MAX_ENTRIES")
      ->default_val(1000)
      ->check(CLI::Range(1, 100000));
  app.add_option("--connectivity-timeout", raw.connect_timeout,
                 "Connect and TLS handshake to a workload cluster (Go duration)")
      ->envname("CONNECTIVITY_TIMEOUT");
  app.add_option("--connectivity-request-timeout", raw.request_timeout,
                 "One request to a workload cluster (Go duration)")
      ->envname("CONNECTIVITY_REQUEST_TIMEOUT");
  app.add_option("--connectivity-qps", c.connectivity_qps, "QPS limit per workload-cluster client")
      ->envname("CONNECTIVITY_QPS")
      ->default_val(50.0)
      ->check(CLI::PositiveNumber);
  app.add_option("--connectivity-burst", c.connectivity_burst, "Burst limit per workload-cluster client")
      ->envname("CONNECTIVITY_BURST")
      ->default_val(100)
      ->check(CLI::Range(1, 100000));
  app.add_option("--fleet-max-concurrency", c.fleet_max_concurrency,
                 "Workload clusters one fleet-wide call (cluster \"*\", clusters, clusterSelector) calls at once")
      ->envname("FLEET_MAX_CONCURRENCY")
      ->default_val(8)
      ->check(CLI::Range(1, 256));
  app.add_option("--fleet-cluster-timeout", raw.cluster_timeout,
                 "Time each cluster of a fleet-wide call gets (Go duration)")
      ->envname("FLEET_CLUSTER_TIMEOUT");
}

// "" when fine, else why not.
std::string finish_capi_flags(Config& c, const CapiRaw& raw) {
  struct D {
    const char* flag;
    const std::string& text;
    std::chrono::milliseconds& out;
  };
  for (auto& d : {D{"--client-cache-ttl", raw.cache_ttl, c.client_cache_ttl},
                  D{"--connectivity-timeout", raw.connect_timeout, c.connectivity_timeout},
                  D{"--connectivity-request-timeout", raw.request_timeout, c.connectivity_request_timeout},
                  D{"--fleet-cluster-timeout", raw.cluster_timeout, c.fleet_cluster_timeout}}) {
    auto v = mk::federation::parse_duration(d.text);
    // Zero would mean "expire at once" / "time out at once"; more than a day is a typo.
    if (!v || v->count() <= 0 || *v > std::chrono::hours(24))
      return std::string(d.flag) + ": \"" + d.text + "\" is not a duration between 1ms and 24h (e.g. 30s, 10m, 1h)";
    d.out = *v;
  }
  try {
    c.wc_group_mappings = mk::federation::parse_group_mappings(raw.group_mappings);
  } catch (const mk::Error& e) {
    return e.what();
  }
  if (c.enable_capi && c.wc_auth_mode == "sso-passthrough" && !c.enable_oauth)
    return "--wc-auth-mode sso-passthrough needs --enable-oauth: the user's ID token is the credential";
  return {};
}

}  // namespace

Parsed parse(int argc, char** argv) {
  Parsed p;
  CLI::App app{"mcp-kubernetes: a Model Context Protocol server for Kubernetes", "mcp-kubernetes"};
  app.set_version_flag("--version", std::string("mcp-kubernetes version ") + MCPK_VERSION);
  std::vector<std::string> ops, allow_ns, deny_ns;
  double timeout_s = 30;
  int session_idle_s = 1800, shutdown_grace_s = 10;
  auto* serve = app.add_subcommand("serve", "Serve MCP (the default command)");
  add_serve_flags(*serve, p.config, ops, allow_ns, deny_ns, timeout_s, session_idle_s, shutdown_grace_s);
  SecretFiles secret_files;
  add_oauth_flags(*serve, p.config, secret_files);
  CapiRaw capi_raw;
  add_capi_flags(*serve, p.config, capi_raw);
  auto* version = app.add_subcommand("version", "Print the version");
  app.require_subcommand(0, 1);
  // `mcp-kubernetes --debug` means `mcp-kubernetes serve --debug`.
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);
  bool has_sub = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "serve" || a == "version" || a == "help") has_sub = true;
    if (!a.starts_with("-")) break;
    if (a == "--help" || a == "-h" || a == "--version") break;
  }
  if (!has_sub && argc > 1 && std::string_view(argv[1]) != "--help" && std::string_view(argv[1]) != "-h" &&
      std::string_view(argv[1]) != "--version")
    args.emplace_back("serve");
  if (argc == 1) args.emplace_back("serve");
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    p.command = Parsed::Command::exit;
    p.exit_code = app.exit(e);
    return p;
  }
  if (version->parsed()) {
    p.command = Parsed::Command::version;
    return p;
  }
  p.config.allowed_operations = split_csv(ops);
  p.config.allowed_namespaces = split_csv(allow_ns);
  p.config.denied_namespaces = split_csv(deny_ns);
  for (auto& o : p.config.allowed_operations) {
    static const std::vector<std::string> known{"get",   "list",   "describe", "logs", "create",      "apply",
                                                "patch", "delete", "scale",    "exec", "port-forward"};
    if (std::find(known.begin(), known.end(), o) == known.end()) {
      std::cerr << "--allowed-operations: unknown operation '" << o << "' (known: get, list, describe, logs, create, "
                << "apply, patch, delete, scale, exec, port-forward)\n";
      p.command = Parsed::Command::exit;
      p.exit_code = 2;
      return p;
    }
  }
  p.config.request_timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  p.config.session_idle_timeout = std::chrono::seconds(session_idle_s);
  p.config.shutdown_grace = std::chrono::seconds(shutdown_grace_s);
  p.config.allowed_origins = split_csv(p.config.allowed_origins);
  p.config.port_forward_allowed_addresses = split_csv(p.config.port_forward_allowed_addresses);
  try {
    mk::tools::parse_allowed_addresses(p.config.port_forward_allowed_addresses);
  } catch (const mk::Error& e) {
    std::cerr << e.what() << "\n";
    p.command = Parsed::Command::exit;
    p.exit_code = 2;
    return p;
  }
  if (auto why = finish_oauth_flags(p.config, secret_files); !why.empty()) {
    std::cerr << why << "\n";
    p.command = Parsed::Command::exit;
    p.exit_code = 2;
    return p;
  }
  if (auto why = finish_capi_flags(p.config, capi_raw); !why.empty()) {
    std::cerr << why << "\n";
    p.command = Parsed::Command::exit;
    p.exit_code = 2;
    return p;
  }
  if (p.config.tls_cert.empty() != p.config.tls_key.empty()) {
    std::cerr << "--tls-cert and --tls-key must be given together\n";
    p.command = Parsed::Command::exit;
    p.exit_code = 2;
  }
  return p;
}

}  // namespace mk::cli
