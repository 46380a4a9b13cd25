// mcp-kubernetes entry point: parse flags, build the app, run the chosen transport.
#include "app/app.hpp"
#include "app/oauth.hpp"
#include "cli/options.hpp"
#include "instrumentation/metrics.hpp"
#include "instrumentation/metrics_export.hpp"
#include "instrumentation/trace_export.hpp"
#include "mcp/server.hpp"
#include "transport/http/origin.hpp"
#include "transport/http/serve.hpp"
#include "transport/stdio.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {
int serve_http(boost::asio::io_context& io, mcp::Server& server, mk::App& app, const mk::Config& cfg) {
  namespace http = mk::transport::http;
  http::Options o;
  auto [host, port] = http::split_host_port(cfg.http_addr);
  // Without authentication an unspecified host means loopback only.
  o.address = host.empty() || host == "localhost" ? "127.0.0.1" : host;
  if (!cfg.enable_oauth && !http::is_loopback_address(o.address))
    mk::log::warn(
        "listening on {} without authentication: anyone who can reach it can use your cluster "
        "credentials",
        o.address);
  o.port = port;
  o.endpoint = cfg.http_endpoint;
  o.disable_streaming = cfg.disable_streaming;
  o.tls_cert_file = cfg.tls_cert;
  o.tls_key_file = cfg.tls_key;
  o.allowed_origins = cfg.allowed_origins;
  o.max_sessions = cfg.max_sessions;
  o.max_sessions_per_client = cfg.max_sessions_per_client;
  o.session_idle_timeout = cfg.session_idle_timeout;
  o.shutdown_grace = cfg.shutdown_grace;
  http::ServeHooks hooks;
  std::unique_ptr<mk::auth::AuthServer> auth;
  if (cfg.enable_oauth) {
    auth = mk::make_auth_server(io.get_executor(), cfg, cfg.http_endpoint);
    hooks.auth = auth.get();
    if (cfg.oauth_storage_type == "valkey") hooks.session_store = &auth->store();
  }
  if (!cfg.metrics_addr.empty()) {
    auto [mh, mp] = http::split_host_port(cfg.metrics_addr);
    hooks.metrics_address = mh.empty() ? "127.0.0.1" : mh;
    hooks.metrics_port = mp;
  }
  hooks.readiness = [&app, a = auth.get()]() -> boost::asio::awaitable<std::pair<bool, std::string>> {
    if (a) {
      auto why = co_await a->check();
      if (!why.empty()) co_return std::pair<bool, std::string>{false, why};
    }
    try {
      mk::k8s::Request r;
      r.target = "/readyz";
      r.timeout = std::chrono::seconds(3);
      auto client = app.clusters().client("");  // named: no temporaries inside co_await (g++ 12)
      co_await client->call(std::move(r));
      co_return std::pair<bool, std::string>{true, ""};
    } catch (const std::exception& e) {
      co_return std::pair<bool, std::string>{false, fmt::format("API server: {}", e.what())};
    }
  };
  return http::serve(io, server, o, std::move(hooks));
}
}  // namespace

int main(int argc, char** argv) {
  auto parsed = mk::cli::parse(argc, argv);
  if (parsed.command == mk::cli::Parsed::Command::exit) return parsed.exit_code;
  if (parsed.command == mk::cli::Parsed::Command::version) {
    std::printf("mcp-kubernetes version %s\n", MCPK_VERSION);
    return 0;
  }
  auto& cfg = parsed.config;
  mk::log::set_level(cfg.debug ? mk::log::Level::debug : mk::log::Level::info);
  mk::log::set_json(cfg.log_format == "json");
  std::signal(SIGPIPE, SIG_IGN);

  boost::asio::io_context io(1);
  // Spans still queued get a bounded last export at exit (BatchOptions::shutdown_wait).
  struct TracingGuard {
    mk::trace::Tracing t;
    std::unique_ptr<mk::metrics::MetricsPusher> metrics;
    ~TracingGuard() {
      mk::trace::set_global(nullptr);
      if (t.processor) t.processor->shutdown();
      if (metrics) metrics->shutdown();  // one last push
    }
  } tracing;
  try {
    mk::trace::apply_env(cfg.tracing, [](const char* n) { return std::getenv(n); });
    tracing.t = mk::trace::make_tracing(cfg.tracing, MCPK_VERSION, cfg.transport == "stdio");
    mk::trace::register_trace_metrics();
    mk::trace::set_global(tracing.t.tracer);
    mk::metrics::apply_env(cfg.metrics_export, [](const char* n) { return std::getenv(n); });
    tracing.metrics =
        mk::metrics::make_metrics_pusher(cfg.metrics_export, cfg.tracing, MCPK_VERSION, cfg.transport == "stdio");
    mk::App app(io.get_executor(), cfg);
    mcp::Server server(io.get_executor(),
                       {.name = "mcp-kubernetes",
                        .version = MCPK_VERSION,
                        .title = "Kubernetes",
                        .instructions = "Tools to read and operate Kubernetes clusters. Start with "
                                        "k8s_list_resources; every tool takes an optional context."},
                       {.tools_page_size = 100, .max_result_text_bytes = cfg.max_response_bytes});
    server.set_session_factory([] { return std::make_shared<mk::pipeline::SessionState>(); });
    mk::register_all_tools(server, app);
    mk::metrics::register_standard_metrics();
    server.set_call_observer([](const std::string& tool, std::string_view outcome, double secs) {
      auto& reg = mk::metrics::Registry::global();
      reg.inc("mcp_kubernetes_operations_total", {{"tool", tool}, {"status", std::string(outcome)}});
      reg.observe("mcp_kubernetes_operation_duration_seconds", {{"tool", tool}}, secs);
    });
    if (cfg.transport == "stdio") {
      boost::asio::signal_set signals(io, SIGINT, SIGTERM);
      signals.async_wait([&io](boost::system::error_code ec, int sig) {
        if (ec) return;
        mk::log::info("signal {}: shutting down", sig);
        io.stop();
      });
      // The kubeconfig is still loading: its errors are logged and returned by each tool call.
      mk::log::debug("serving MCP on stdio ({} tools)", server.tools().size());
      mk::transport::serve_stdio(io, server, {});
    } else {
      app.clusters().check();  // a server that cannot reach any cluster should not start listening
      return serve_http(io, server, app, cfg);
    }
  } catch (const mk::Error& e) {
    mk::log::error("{}", e.what());
    return 1;
  }
  return 0;
}
