#pragma once
// Everything `serve` is configured with, after flags and environment fallbacks.
#include "instrumentation/metrics_export.hpp"
#include "instrumentation/trace_export.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace mk {

struct Config {
  // safety
  bool non_destructive = true;
  bool dry_run = false;
  std::vector<std::string> allowed_operations;  // verbs unlocked despite --non-destructive
  std::vector<std::string> allowed_namespaces;  // empty => all
  std::vector<std::string> denied_namespaces;
  bool show_secret_values = false;
  bool allow_cluster_scoped_writes = false;  // despite namespace limits
  // port-forward: addresses besides loopback a forward may listen on (IP literals), and the
  // idle time and count limit of forwards started by stateless (2026-07-28) requests
  std::vector<std::string> port_forward_allowed_addresses;
  std::chrono::seconds port_forward_idle_timeout{30 * 60};
  std::size_t port_forward_max_stateless = 64;
  // kubernetes
  bool in_cluster = false;
  std::string context;  // initial context (default: kubeconfig's current-context)
  // kubectl's client limits: an agent's burst of calls must not stall behind a limiter that
  // only protects the API server, which has its own fairness (APF).
  double qps = 50.0;
  int burst = 300;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::size_t max_response_bytes = 512 * 1024;  // a tool result's text; bigger asks to narrow the query
  std::size_t max_structured_bytes = 4u << 20;  // a tool result's structuredContent, serialized
  // In-flight tool calls per MCP session and in the whole server (see pipeline::Settings).
  std::size_t max_session_concurrent_calls = 16;
  std::size_t max_concurrent_calls = 256;
  // Largest API server answer read; see k8s::TransportOptions::max_response_bytes for the why.
  std::size_t max_api_response_bytes = 64u << 20;
  // A filtered pod-log search reads at most this much log, for at most this long.
  std::size_t log_scan_bytes = 64u << 20;
  int log_scan_seconds = 20;
  // transport
  std::string transport = "stdio";
  std::string http_addr = ":8080";
  std::string http_endpoint = "/mcp";
  bool disable_streaming = false;
  std::string tls_cert, tls_key;
  std::string metrics_addr;                  // extra listener for /metrics ("" => main port only)
  std::vector<std::string> allowed_origins;  // browser Origins allowed beyond loopback
  std::size_t max_sessions = 1000;
  std::size_t max_sessions_per_client = 100;  // per remote address (all clients behind a proxy share one)
  std::chrono::seconds session_idle_timeout{30 * 60};
  std::chrono::seconds shutdown_grace{10};
  // OAuth 2.1 (streamable-http only; src/app/oauth.cpp checks the combination)
  bool enable_oauth = false;
  std::string oauth_base_url;
  std::string oauth_provider = "dex";  // dex | google
  std::string dex_issuer_url, dex_client_id, dex_client_secret, dex_connector_id, dex_ca_file;
  std::string dex_k8s_authenticator_client_id;
  std::string google_client_id, google_client_secret;
  std::string registration_token;
  bool allow_public_registration = false;
  bool allow_insecure_auth_without_state = false;
  std::size_t max_clients_per_ip = 10;
  std::vector<std::string> trusted_public_registration_schemes;
  bool enable_cimd = false;                   // Client ID Metadata Documents (https client_id URLs)
  std::string oauth_encryption_key;           // "" => a random key per process (tokens do not survive a restart)
  std::string oauth_storage_type = "memory";  // memory | valkey
  std::string valkey_url, valkey_password, valkey_key_prefix = "mcp:";
  bool valkey_tls = false;
  int valkey_db = 0;
  bool downstream_oauth = false;
  std::vector<std::string> oauth_trusted_audiences;
  double oauth_user_rate_limit = 100, oauth_user_rate_burst = 200;  // MCP requests per user (per second, burst)
  int oauth_token_rate_limit = 60;                                  // token requests per user per minute
  // The *-file forms of the secrets above (read at start into them, and re-read on change).
  std::string dex_client_secret_file, google_client_secret_file, registration_token_file, oauth_encryption_key_file,
      valkey_password_file;
  // federation: workload clusters through Cluster API (--enable-capi; docs in README)
  bool enable_capi = false;
  std::string wc_auth_mode = "impersonation";  // impersonation | sso-passthrough
  std::string wc_ca_configmap_suffix = "-ca-public";
  std::string capi_access_check = "rbac";  // rbac | none: Cluster objects limited by the MC's RBAC per user
  std::map<std::string, std::string> wc_group_mappings;  // validated (federation::parse_group_mappings)
  std::chrono::milliseconds client_cache_ttl{10 * 60 * 1000};
  std::size_t client_cache_max_entries = 1000;
  std::chrono::milliseconds connectivity_timeout{5000};           // connect + TLS to a workload cluster
  std::chrono::milliseconds connectivity_request_timeout{30000};  // one request to it
  double connectivity_qps = 50;
  int connectivity_burst = 100;
  std::size_t fleet_max_concurrency = 8;
  std::chrono::milliseconds fleet_cluster_timeout{20000};
  // observability
  bool debug = false;
  std::string log_format = "text";
  trace::TracingSettings tracing;           // flags here; the OTEL_* environment fills the rest (trace::apply_env)
  metrics::MetricsSettings metrics_export;  // METRICS_EXPORTER (metrics::apply_env)
};

}  // namespace mk
