#include "k8s/portforward.hpp"

#include "instrumentation/metrics.hpp"
#include "k8s/spdy_session.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstdlib>
#include <exception>

namespace mk::k8s {
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {
std::size_t g_active = 0;  // one io thread: no atomics needed
constexpr auto kUpgradeTimeout = std::chrono::seconds(30);

bool websockets_disabled() {
  const char* v = std::getenv("MCP_KUBERNETES_PORT_FORWARD_WEBSOCKETS");
  return v && (std::string_view(v) == "false" || std::string_view(v) == "0");
}

TunnelTarget tunnel_target(const ForwardSpec& spec) {
  return {spec.ns, spec.pod, spec.remote_port, fmt::format("port-forward to pod \"{}\"", spec.pod), kUpgradeTimeout};
}

// The order protocols are tried in (portforward_tunnel.hpp); without WebSockets only SPDY.
std::vector<TunnelProtocol> protocol_order() {
  if (websockets_disabled()) return {TunnelProtocol::spdy};
  return {TunnelProtocol::websocket, TunnelProtocol::spdy, TunnelProtocol::websocket_channel};
}
}  // namespace

std::size_t active_port_forwards() { return g_active; }

namespace {
void publish_active() {
  metrics::Registry::global().set("active_port_forward_sessions", {}, static_cast<double>(g_active));
}
}  // namespace

std::string portforward_target(std::string_view ns, std::string_view pod, int port) {
  return fmt::format("/api/v1/namespaces/{}/pods/{}/portforward?ports={}", url_encode(ns), url_encode(pod), port);
}

struct PortForward::Conn {
  explicit Conn(tcp::socket s) : local(std::move(s)) {}
  tcp::socket local;
  std::shared_ptr<PortTunnel> tunnel;
  bool closed = false;
  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    local.shutdown(tcp::socket::shutdown_both, ec);
    local.close(ec);
    if (tunnel) tunnel->close();
  }
};

PortForward::PortForward(std::shared_ptr<Client> client, ForwardSpec spec, std::string id)
    : client_(std::move(client)), spec_(std::move(spec)), id_(std::move(id)),
      acceptor_(client_->transport().executor()), dialed_(client_->transport().executor()),
      started_(std::chrono::system_clock::now()) {}

PortForward::~PortForward() { stop(); }

// The span covers what the tool call waits for: the checks, the upgrades tried and the
// listener. Connections accepted later belong to no call and get no span (a forward can live
// for hours; its counters are in info() and the metrics).
asio::awaitable<std::shared_ptr<PortForward>> PortForward::start(std::shared_ptr<Client> client, ForwardSpec spec,
                                                                 std::string id) {
  auto path = portforward_target(spec.ns, spec.pod, spec.remote_port);
  auto span = client->transport().start_span(boost::beast::http::verb::get, path, client->trace_parent());
  trace::SpanContext ctx = span.recording() ? span.context() : client->trace_parent();
  try {
    auto f = co_await start_checked(std::move(client), std::move(spec), std::move(id), std::move(ctx));
    if (span.recording()) {
      span.set("http.response.status_code", static_cast<std::int64_t>(101));  // upgraded
      span.set("k8s.portforward.protocol", to_string(f->protocol_));
      span.set("k8s.portforward.local_port", static_cast<std::int64_t>(f->local_port_));
    }
    co_return f;
  } catch (const std::exception& e) {
    record_error(span, e);
    throw;
  }
}

asio::awaitable<std::shared_ptr<PortForward>> PortForward::start_checked(std::shared_ptr<Client> client,
                                                                         ForwardSpec spec, std::string id,
                                                                         trace::SpanContext trace) {
  if (spec.remote_port < 1 || spec.remote_port > 65535)
    fail(Errc::invalid_argument, fmt::format("remote port {} is out of range 1-65535", spec.remote_port));
  if (spec.local_port < 0 || spec.local_port > 65535)
    fail(Errc::invalid_argument, fmt::format("local port {} is out of range 0-65535", spec.local_port));
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(spec.address, ec);
  if (ec) fail(Errc::invalid_argument, fmt::format("address \"{}\" is not an IP address", spec.address));

  // Fail now, not on the first connection, when the API server refuses (RBAC, pod gone, not
  // running). The protocol that worked is used for every connection of this forward; for the
  // SPDY ones this first connection is kept and carries them.
  TunnelTarget target = tunnel_target(spec);
  target.trace = std::move(trace);
  std::shared_ptr<SpdySession> session;
  std::optional<TunnelProtocol> chosen;
  std::string refusals;  // of the protocols tried before
  for (auto p : protocol_order()) {
    std::string error;
    Errc code = Errc::unavailable;
    bool next = false;
    try {
      if (p == TunnelProtocol::websocket_channel) co_await open_websocket_tunnel(client->transport(), target, true);
      else session = co_await open_spdy_session(client->transport(), target, p);
      chosen = p;
    } catch (const Error& e) {
      error = e.what();
      code = e.code();
      next = upgrade_refused(e);
    }
    if (chosen) break;
    if (!next) {
      if (refusals.empty()) fail(code, error);
      fail(code, fmt::format("{} (refused before: {})", error, refusals));
    }
    log::info("port-forward to {}/{}: {} refused ({}); trying the next protocol{}", spec.ns, spec.pod, to_string(p),
              error, trace::log_fields(target.trace));
    refusals += fmt::format("{}{}: {}", refusals.empty() ? "" : "; ", to_string(p), error);
  }
  if (!chosen) fail(Errc::unavailable, fmt::format("every port-forward protocol was refused: {}", refusals));

  std::shared_ptr<PortForward> f(new PortForward(client, spec, std::move(id)));
  f->protocol_ = *chosen;
  f->session_ = std::move(session);
  f->upstream_connections_ = 1;
  tcp::endpoint ep(addr, static_cast<unsigned short>(spec.local_port));
  auto& acc = f->acceptor_;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    f->stop();
    fail(Errc::conflict, fmt::format("cannot listen on {}:{}: {}", spec.address, spec.local_port, ec.message()));
  }
  f->local_port_ = acc.local_endpoint().port();
  ++g_active;
  publish_active();
  asio::co_spawn(acc.get_executor(), f->accept_loop(), asio::detached);
  co_return f;
}

void PortForward::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (local_port_ != 0 && g_active > 0) {
    --g_active;
    publish_active();
  }
  boost::system::error_code ec;
  acceptor_.close(ec);
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& c : conns) c->close();
  if (session_) session_->close();
  dialed_.notify();
}

json::object PortForward::info() const {
  json::object o{{"id", id_},
                 {"localAddress", spec_.address},
                 {"localPort", local_port_},
                 {"namespace", spec_.ns},
                 {"pod", spec_.pod},
                 {"remotePort", spec_.remote_port},
                 {"context", spec_.context},
                 {"protocol", to_string(protocol_)},
                 {"activeConnections", conns_.size()},
                 {"upstreamConnections", upstream_connections_},
                 {"totalConnections", total_conns_},
                 {"bytesFromPod", bytes_in_},
                 {"bytesToPod", bytes_out_},
                 {"startedAt", std::chrono::duration_cast<std::chrono::seconds>(started_.time_since_epoch()).count()}};
  if (!spec_.service.empty()) o["service"] = spec_.service;
  if (!last_error_.empty()) o["lastError"] = last_error_;
  return o;
}

asio::awaitable<void> PortForward::accept_loop() {
  auto self = shared_from_this();
  while (!stopped_) {
    auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(use_awaitable));
    if (stopped_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
      log::warn("port-forward {}: accept failed: {}", id_, ec.message());
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    if (conns_.size() >= spec_.max_connections) {
      last_error_ = fmt::format("connection refused: {} connections already open", spec_.max_connections);
      boost::system::error_code ig;
      sock.close(ig);
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Conn>(std::move(sock));
    conns_.insert(conn);
    ++total_conns_;
    asio::co_spawn(acceptor_.get_executor(), serve(conn), asio::detached);
  }
}

namespace {
asio::awaitable<void> pod_to_local(std::shared_ptr<PortForward::Conn> c, std::uint64_t* bytes, std::string* last_error,
                                   std::string id) {
  std::string failure;
  try {
    for (;;) {
      auto data = co_await c->tunnel->read();
      if (!data) break;
      co_await asio::async_write(c->local, asio::buffer(*data), use_awaitable);
      *bytes += data->size();
    }
    failure = c->tunnel->error();
  } catch (const boost::system::system_error&) {
    // Either side closed: the connection is over.
  } catch (const std::exception& e) {
    failure = e.what();  // a protocol error (bad frame) or timeout
  }
  if (!failure.empty() && !c->closed) {
    *last_error = failure.substr(0, 500);
    log::warn("port-forward {}: {}", id, *last_error);
  }
  c->close();
}

asio::awaitable<void> local_to_pod(std::shared_ptr<PortForward::Conn> c, std::uint64_t* bytes, std::string* last_error,
                                   std::string id) {
  std::array<char, 32 * 1024> buf;
  try {
    for (;;) {
      auto [ec, n] = co_await c->local.async_read_some(asio::buffer(buf), asio::as_tuple(use_awaitable));
      // Local EOF: over SPDY the pod side is told and its answer still flows back (a client
      // that half-closes after its request); v4.channel.k8s.io has no half-close.
      if (ec == asio::error::eof && !c->closed && c->tunnel->shutdown_write()) co_return;
      if (ec) break;
      co_await c->tunnel->write(std::string_view(buf.data(), n));
      *bytes += n;
    }
  } catch (const Error& e) {
    // The upstream connection ended under us: say why (pod_to_local will see only the close).
    if (!c->closed) {
      *last_error = std::string(e.what()).substr(0, 500);
      log::warn("port-forward {}: {}", id, *last_error);
    }
  } catch (const std::exception&) {
  }
  c->close();
}
}  // namespace

asio::awaitable<std::shared_ptr<SpdySession>> PortForward::session_for_connection() {
  for (;;) {
    if (stopped_) fail(Errc::cancelled, "the port-forward was stopped");
    if (session_ && session_->alive()) co_return session_;
    if (!dialing_) break;
    // Another connection is dialling (bounded by its upgrade timeout). If that dial fails,
    // every connection that waited for it fails with its error: no queue of serial re-dials.
    auto before = dials_;
    while (dialing_ && !stopped_) co_await dialed_.wait();
    if (dials_ != before && !dial_error_.empty()) fail(Errc::unavailable, dial_error_);
  }
  if (session_)
    log::info("port-forward {}: the connection to the API server ended ({}); reconnecting", id_,
              session_->end_reason().empty() ? "closed" : session_->end_reason());
  dialing_ = true;
  std::shared_ptr<SpdySession> fresh;
  try {
    auto target = tunnel_target(spec_);  // named: no call temporaries inside co_await (g++ 12)
    fresh = co_await open_spdy_session(client_->transport(), target, protocol_);
  } catch (const std::exception& e) {
    dial_error_ = e.what();
    ++dials_;
    dialing_ = false;
    dialed_.notify();
    throw;
  }
  dial_error_.clear();
  ++dials_;
  dialing_ = false;
  dialed_.notify();
  ++upstream_connections_;
  if (stopped_) {
    fresh->close();
    fail(Errc::cancelled, "the port-forward was stopped");
  }
  session_ = fresh;
  co_return fresh;
}

asio::awaitable<void> PortForward::serve(std::shared_ptr<Conn> conn) {
  auto self = shared_from_this();
  try {
    if (protocol_ == TunnelProtocol::websocket_channel) {
      ++upstream_connections_;
      auto target = tunnel_target(spec_);
      conn->tunnel = co_await open_websocket_tunnel(client_->transport(), target, false);
    } else {
      // A session that ends while the streams are being opened (its connection was cut a
      // moment ago) is not the pod's refusal: try once more on a fresh one.
      for (int attempt = 1;; ++attempt) {
        auto session = co_await session_for_connection();
        std::exception_ptr failed;
        try {
          conn->tunnel = co_await session->open(spec_.remote_port, kUpgradeTimeout);
        } catch (const Error&) {
          failed = std::current_exception();
        }
        if (!failed) break;
        if (attempt == 2 || session->alive() || stopped_) std::rethrow_exception(failed);
      }
    }
  } catch (const std::exception& e) {
    if (!stopped_) {
      last_error_ = e.what();
      log::warn("port-forward {}: {}", id_, last_error_);
    }
    conn->close();
    conns_.erase(conn);
    co_return;
  }
  // A stream the session resets by itself (its reader stalled) closes the local side too, which
  // may be blocked writing to that reader.
  conn->tunnel->set_abort_handler([w = std::weak_ptr<Conn>(conn), f = weak_from_this()](const std::string& why) {
    if (auto self = f.lock()) self->last_error_ = why;
    if (auto c = w.lock()) c->close();
  });
  if (conn->closed || stopped_) {
    conn->tunnel->close();
    conns_.erase(conn);
    co_return;
  }
  auto ex = acceptor_.get_executor();
  // Both directions hold `self` so the counters they update outlive them.
  asio::co_spawn(
      ex,
      [](std::shared_ptr<PortForward> s, std::shared_ptr<Conn> c) -> asio::awaitable<void> {
        co_await pod_to_local(c, &s->bytes_in_, &s->last_error_, s->id_);
        s->conns_.erase(c);
      }(self, conn),
      asio::detached);
  asio::co_spawn(
      ex,
      [](std::shared_ptr<PortForward> s, std::shared_ptr<Conn> c) -> asio::awaitable<void> {
        co_await local_to_pod(c, &s->bytes_out_, &s->last_error_, s->id_);
        if (c->closed) s->conns_.erase(c);  // else half-closed: the pod's answer still flows
      }(self, conn),
      asio::detached);
}

}  // namespace mk::k8s
