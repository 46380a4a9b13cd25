// mcp-kubernetes entry point: parse flags, build the app, run the chosen transport.
#include "app/app.hpp"
#include "cli/options.hpp"
#include "mcp/server.hpp"
#include "transport/stdio.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>

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
  try {
    mk::App app(io.get_executor(), cfg);
    mcp::Server server(io.get_executor(),
                       {.name = "mcp-kubernetes",
                        .version = MCPK_VERSION,
                        .title = "Kubernetes",
                        .instructions = "Tools to read and operate Kubernetes clusters. Start with "
                                        "k8s_list_resources; every tool takes an optional context."},
                       {.tools_page_size = 100, .max_result_text_bytes = cfg.max_response_bytes});
    server.set_session_factory([] { return std::make_unique<mk::KubeSession>(); });
    mk::register_all_tools(server, app);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](boost::system::error_code ec, int sig) {
      if (ec) return;
      mk::log::info("signal {}: shutting down", sig);
      io.stop();
    });
    if (cfg.transport == "stdio") {
      mk::log::debug("serving MCP on stdio ({} tools, context {})", server.tools().size(),
                     app.clusters().default_context());
      mk::transport::serve_stdio(io, server, {});
    } else {
      mk::log::error("--transport {} is not available in this build yet", cfg.transport);
      return 2;
    }
  } catch (const mk::Error& e) {
    mk::log::error("{}", e.what());
    return 1;
  }
  return 0;
}
