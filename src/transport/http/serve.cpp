#include "transport/http/serve.hpp"

#include "auth/server.hpp"
#include "instrumentation/metrics.hpp"
#include "transport/http/listener.hpp"
#include "transport/http/mcp_endpoint.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace mk::transport::http {
namespace asio = boost::asio;

std::pair<std::string, unsigned short> split_host_port(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) fail(Errc::invalid_argument, fmt::format("address \"{}\" has no port", addr));
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    port = std::stoi(addr.substr(colon + 1));
  } catch (...) {
  }
  if (port < 0 || port > 65535) fail(Errc::invalid_argument, fmt::format("address \"{}\" has an invalid port", addr));
  return {host, static_cast<unsigned short>(port)};
}

namespace {
std::string path_label(std::string_view target, const std::string& endpoint) {
  auto q = target.find('?');
  auto path = target.substr(0, q);
  if (path == endpoint || path == "/healthz" || path == "/readyz" || path == "/metrics") return std::string(path);
  return "other";
}
auth::HttpRequest to_auth(const Request& req, const std::string& peer) {
  std::string target(req.target());
  auto q = target.find('?');
  auth::HttpRequest a;
  a.method = std::string(req.method_string());
  a.path = target.substr(0, q);
  a.query = q == std::string::npos ? "" : target.substr(q + 1);
  a.authorization = std::string(req[bhttp::field::authorization]);
  a.content_type = std::string(req[bhttp::field::content_type]);
  a.body = req.body();
  a.peer = peer;
  a.cookie = std::string(req[bhttp::field::cookie]);
  return a;
}

Response from_auth(const Request& req, const auth::HttpReply& r) {
  auto res = make_response(req, static_cast<bhttp::status>(r.status), r.body, r.content_type);
  for (auto& [k, v] : r.headers) res.set(k, v);
  return res;
}
}  // namespace

int serve(asio::io_context& io, mcp::Server& server, Options opts, ServeHooks hooks) {
  metrics::register_standard_metrics();
  metrics::Registry::global().describe("mcp_sessions_evicted_total", "counter",
                                       "MCP sessions evicted to make room for a new one, by the cap reached.");
  McpEndpoint endpoint(io, server, opts, hooks.session_store);
  endpoint.start();
  bool stopping = false;

  Router router = [&](Request& req, Writer& w) -> asio::awaitable<void> {
    auto started = std::chrono::steady_clock::now();
    std::string target(req.target());
    auto path = target.substr(0, target.find('?'));
    if (hooks.auth && hooks.auth->handles(path)) {
      auto areq = to_auth(req, w.peer);
      auto reply = co_await hooks.auth->handle(std::move(areq));
      auto res_ = from_auth(req, reply);
      co_await w.send(std::move(res_));
    } else if (path == opts.endpoint && hooks.auth) {
      // transport -> auth check -> MCP dispatch: nothing of MCP runs for an unauthenticated caller.
      std::string authorization(req[bhttp::field::authorization]);
      auto checked = co_await hooks.auth->authenticate(std::move(authorization));
      if (!checked.identity) {
        auto res_ = from_auth(req, checked.challenge);
        co_await w.send(std::move(res_));
      } else {
        w.identity = std::move(*checked.identity);
        co_await endpoint.handle(req, w);
      }
    } else if (path == opts.endpoint) {
      co_await endpoint.handle(req, w);
    } else if (path == "/healthz" && req.method() == bhttp::verb::get) {
      {
        auto res_ = make_response(req, bhttp::status::ok, "ok\n", "text/plain");
        co_await w.send(std::move(res_));
      }
    } else if (path == "/readyz" && req.method() == bhttp::verb::get) {
      if (stopping) {
        {
          auto res_ = make_response(req, bhttp::status::service_unavailable, "shutting down\n", "text/plain");
          co_await w.send(std::move(res_));
        }
      } else {
        std::pair<bool, std::string> rd{true, ""};
        if (hooks.readiness) rd = co_await hooks.readiness();  // not in ?: (g++ 12 coroutine bug)
        auto& [ready, detail] = rd;
        {
          auto res_ = make_response(req, ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                                    (ready ? "ok" : "not ready: " + detail) + "\n", "text/plain");
          co_await w.send(std::move(res_));
        }
      }
    } else if (path == "/metrics" && opts.serve_metrics && req.method() == bhttp::verb::get) {
      {
        auto res_ = make_response(req, bhttp::status::ok, metrics::Registry::global().render(),
                                  "text/plain; version=0.0.4; charset=utf-8");
        co_await w.send(std::move(res_));
      }
    } else {
      {
        auto res_ = make_response(req, bhttp::status::not_found, R"({"error":"not found"})");
        co_await w.send(std::move(res_));
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto label = hooks.auth && hooks.auth->handles(path) ? std::string("oauth") : path_label(target, opts.endpoint);
    std::string method(req.method_string());
    auto& reg = metrics::Registry::global();
    reg.inc("http_requests_total", {{"method", method}, {"path", label}, {"status", std::to_string(w.status)}});
    reg.observe("http_request_duration_seconds", {{"method", method}, {"path", label}}, secs);
  };

  Listener main_listener(io, opts.address, opts.port, opts, router);
  main_listener.start();
  std::unique_ptr<Listener> metrics_listener;
  if (!hooks.metrics_address.empty() || hooks.metrics_port) {
    Options mo = opts;
    mo.tls_cert_file.clear();
    Router mr = [&](Request& req, Writer& w) -> asio::awaitable<void> {
      std::string target(req.target());
      if (target.substr(0, target.find('?')) == "/metrics") {
        auto res_ = make_response(req, bhttp::status::ok, metrics::Registry::global().render(),
                                  "text/plain; version=0.0.4; charset=utf-8");
        co_await w.send(std::move(res_));
      } else {
        auto res_ = make_response(req, bhttp::status::not_found, "not found\n", "text/plain");
        co_await w.send(std::move(res_));
      }
    };
    metrics_listener = std::make_unique<Listener>(io, hooks.metrics_address, hooks.metrics_port, mo, mr);
    metrics_listener->start();
    log::info("metrics on http://{}:{}/metrics", hooks.metrics_address, metrics_listener->bound_port());
  }
  auto shown = opts.address.find(':') == std::string::npos ? opts.address : "[" + opts.address + "]";
  log::info("MCP Streamable HTTP on {}://{}:{}{}", opts.tls_cert_file.empty() ? "http" : "https", shown,
            main_listener.bound_port(), opts.endpoint);

  // Let in-flight requests finish within the grace period, then close everything. A named
  // lambda: it outlives the coroutine (captures of a temporary lambda would dangle).
  auto drain = [&]() -> asio::awaitable<void> {
    auto deadline = std::chrono::steady_clock::now() + opts.shutdown_grace;
    asio::steady_timer t(io);
    while (main_listener.active_requests() > 0 && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(asio::use_awaitable);
    }
    endpoint.close_all();
    if (hooks.on_shutdown) hooks.on_shutdown();
    io.stop();
  };
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log::info("signal {}: stopping (grace {} s)", sig, opts.shutdown_grace.count());
    stopping = true;
    main_listener.stop_accepting();
    if (metrics_listener) metrics_listener->stop_accepting();
    asio::co_spawn(io, drain(), asio::detached);
  });
  io.run();
  return 0;
}

}  // namespace mk::transport::http
