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
          .port_forward_max_stateless = c.port_forward_max_stateless};
}

}  // namespace

App::App(boost::asio::any_io_executor ex, Config cfg)
    : cfg_(std::move(cfg)), clusters_(std::move(ex), clusters_options(cfg_)),
      env_(settings(cfg_), Policy(policy_config(cfg_)), clusters_) {}

}  // namespace mk
