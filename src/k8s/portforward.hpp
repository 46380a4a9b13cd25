#pragma once
// Port-forwarding to a pod through the API server: a local TCP listener whose accepted
// connections become stream pairs on one SPDY session (tunnelled in a WebSocket, or a raw
// SPDY upgrade where that is refused; re-dialled when it ends), or, as a last resort, one
// v4.channel.k8s.io WebSocket each. Which caller owns a forward is not this layer's concern
// (tools/pods/forward_registry.hpp).
#include "k8s/client.hpp"
#include "k8s/portforward_tunnel.hpp"
#include "util/signal.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <string>

namespace mk::k8s {

struct ForwardSpec {
  std::string context, ns, pod;
  int remote_port = 0;
  std::string address = "127.0.0.1";
  int local_port = 0;   // 0 => the OS picks
  std::string service;  // set when forwarding a service (for listings)
  std::size_t max_connections = 64;
};

class PortForward : public std::enable_shared_from_this<PortForward> {
 public:
  // Checks the API server accepts the forward (RBAC, pod exists and runs) and picks the protocol
  // (the first of websocket, spdy, websocket-channel whose upgrade is not refused; spdy only
  // when the environment has MCP_KUBERNETES_PORT_FORWARD_WEBSOCKETS=false, like kubectl's
  // KUBECTL_PORT_FORWARD_WEBSOCKETS), binds the listener and starts accepting. Throws the API's error or
  // Errc::invalid_argument for a bad address/port.
  static boost::asio::awaitable<std::shared_ptr<PortForward>> start(std::shared_ptr<Client> client, ForwardSpec spec,
                                                                    std::string id);
  ~PortForward();

  // Closes the listener and every connection; idempotent.
  void stop();
  bool stopped() const { return stopped_; }
  const std::string& id() const { return id_; }
  const ForwardSpec& spec() const { return spec_; }
  int local_port() const { return local_port_; }
  TunnelProtocol protocol() const { return protocol_; }
  boost::json::object info() const;
  // Grows with every connection accepted and byte moved (idle detection).
  std::uint64_t activity() const { return total_conns_ + bytes_in_ + bytes_out_; }

  struct Conn;

 private:
  PortForward(std::shared_ptr<Client> client, ForwardSpec spec, std::string id);
  // start() without its span; `trace` goes to the API server with the upgrades it tries.
  static boost::asio::awaitable<std::shared_ptr<PortForward>> start_checked(std::shared_ptr<Client> client,
                                                                            ForwardSpec spec, std::string id,
                                                                            trace::SpanContext trace);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<Conn> conn);
  // The live SPDY session, dialled again when the last one ended.
  boost::asio::awaitable<std::shared_ptr<SpdySession>> session_for_connection();

  std::shared_ptr<Client> client_;
  ForwardSpec spec_;
  std::string id_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int local_port_ = 0;
  TunnelProtocol protocol_ = TunnelProtocol::websocket;
  std::shared_ptr<SpdySession> session_;  // websocket and spdy
  bool dialing_ = false;
  Signal dialed_;            // a dial of session_ finished
  std::uint64_t dials_ = 0;  // dials finished, failed or not
  std::string dial_error_;   // of the last dial, "" when it worked
  bool stopped_ = false;
  std::set<std::shared_ptr<Conn>> conns_;
  std::chrono::system_clock::time_point started_;
  std::uint64_t total_conns_ = 0, bytes_in_ = 0, bytes_out_ = 0;
  std::uint64_t upstream_connections_ = 0;  // connections made to the API server
  std::string last_error_;
};

// Forwards live in the process: the `active_port_forward_sessions` gauge.
std::size_t active_port_forwards();

// Path and query of the upgrade request.
std::string portforward_target(std::string_view ns, std::string_view pod, int port);

}  // namespace mk::k8s
