#include "app/app.hpp"

namespace mk {
namespace {

pipeline::ClustersOptions clusters_options(const Config& c) {
  pipeline::ClustersOptions o{.in_cluster = c.in_cluster, .context = c.context, .transport = {}};
  o.transport.qps = c.qps;
  o.transport.burst = c.burst;
  o.transport.request_timeout = c.request_timeout;
  o.transport.max_response_bytes = c.max_api_response_bytes;
  o.transport.user_agent = std::string("mcp-kubernetes/") + MCPK_VERSION;
  o.downstream_oauth = c.downstream_oauth;
  return o;
}

PolicyConfig policy_config(const Config& c) {
  return {.non_destructive = c.non_destructive,
          .dry_run = c.dry_run,
          .allowed_operations = c.allowed_operations,
          .allowed_namespaces = c.allowed_namespaces,
          .denied_namespaces = c.denied_namespaces,
          .allow_cluster_scoped_writes = c.allow_cluster_scoped_writes};
}

pipeline::Settings settings(const Config& c) {
  return {.show_secret_values = c.show_secret_values,
          .max_response_bytes = c.max_response_bytes,
          .max_structured_bytes = c.max_structured_bytes,
          .request_timeout = c.request_timeout,
          .max_calls_per_session = c.max_session_concurrent_calls,
          .max_calls_total = c.max_concurrent_calls,
          .log_scan_bytes = c.log_scan_bytes,
          .log_scan_seconds = c.log_scan_seconds,
          .port_forward_allowed_addresses = c.port_forward_allowed_addresses,
          .port_forward_idle_timeout = c.port_forward_idle_timeout,
          .port_forward_max_stateless = c.port_forward_max_stateless,
          .fleet_max_concurrency = c.fleet_max_concurrency,
          .fleet_cluster_timeout = c.fleet_cluster_timeout};
}

federation::Options federation_options(const Config& c) {
  federation::Options o;
  o.mode =
      c.wc_auth_mode == "sso-passthrough" ? federation::AuthMode::sso_passthrough : federation::AuthMode::impersonation;
  o.oauth = c.enable_oauth;
  o.ca_configmap_suffix = c.wc_ca_configmap_suffix;
  o.access = c.capi_access_check == "none" ? federation::AccessCheck::none : federation::AccessCheck::rbac;
  o.group_mappings = c.wc_group_mappings;
  o.cache_ttl = c.client_cache_ttl;
  o.cache_max_entries = c.client_cache_max_entries;
  o.transport.qps = c.connectivity_qps;
  o.transport.burst = c.connectivity_burst;
  o.transport.request_timeout = c.connectivity_request_timeout;
  o.transport.connect_timeout = c.connectivity_timeout;
  o.transport.max_response_bytes = c.max_api_response_bytes;
  o.transport.user_agent = std::string("mcp-kubernetes/") + MCPK_VERSION;
  o.review_transport = clusters_options(c).transport;  // the management cluster's, with a bucket of its own
  return o;
}

}  // namespace

App::App(boost::asio::any_io_executor ex, Config cfg)
    : cfg_(std::move(cfg)), clusters_(std::move(ex), clusters_options(cfg_)),
      env_(settings(cfg_), Policy(policy_config(cfg_)), clusters_) {
  if (!cfg_.enable_capi) return;
  // Discovery, Secrets and CA ConfigMaps are read with the server's own credentials.
  federation_ = std::make_unique<federation::Federation>(clusters_.executor(), federation_options(cfg_),
                                                         [this] { return clusters_.client(""); });
  env_.set_federation(federation_.get());
}

}  // namespace mk
