#pragma once
// One forwarded connection's byte stream to a pod port through the API server. Three ways to
// carry it, in the order they are tried:
//   websocket          SPDY/3.1 tunnelled in a WebSocket (SPDY/3.1+portforward.k8s.io), what
//                      kubectl uses since 1.31; one connection multiplexes every local connection
//   spdy               a raw SPDY/3.1 upgrade (portforward.k8s.io), multiplexed the same way
//   websocket-channel  v4.channel.k8s.io, one WebSocket per local connection, no half-close
// The first two are SpdySession streams (spdy_session.hpp); the dialers are in
// portforward_spdy.cpp and portforward_ws.cpp. One read and one write may be outstanding at a time.
#include "k8s/api_transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mk {
class Error;
}

namespace mk::k8s {

enum class TunnelProtocol { websocket, spdy, websocket_channel };
std::string_view to_string(TunnelProtocol p);

class PortTunnel {
 public:
  virtual ~PortTunnel() = default;
  // The next bytes from the pod; std::nullopt at the end (then error() says why, if it failed).
  virtual boost::asio::awaitable<std::optional<std::string>> read() = 0;
  virtual boost::asio::awaitable<void> write(std::string_view data) = 0;
  // Tells the pod side no more data follows while still reading its answer; false when the
  // protocol cannot (then the caller closes the connection instead).
  virtual bool shutdown_write() { return false; }
  // Abrupt close; idempotent. Pending reads and writes complete with errors.
  virtual void close() = 0;
  // Called (with the reason) when the tunnel gives up on this connection by itself, so the
  // owner can close the local side even while it is blocked writing to it.
  virtual void set_abort_handler(std::function<void(const std::string&)>) {}
  // What the pod side reported (e.g. "failed to dial 127.0.0.1:8080"), "" when nothing.
  const std::string& error() const { return error_; }

 protected:
  std::string error_;
};

struct TunnelTarget {
  std::string ns, pod;
  int port = 0;
  std::string what;  // names the operation in errors
  std::chrono::milliseconds timeout{30000};
  // Sent as `traceparent` when valid: the tool call's port-forward span while the call checks
  // the forward; none for the connections made afterwards, which belong to no call.
  mk::trace::SpanContext trace{};
};

class SpdySession;

// v4.channel.k8s.io: upgrades a connection to `t` for one forwarded connection. With `probe`
// only the upgrade is done (the pod port is not dialled) and nullptr is returned. A refused
// upgrade is thrown as the API's Status.
boost::asio::awaitable<std::shared_ptr<PortTunnel>> open_websocket_tunnel(ApiTransport& t, TunnelTarget target,
                                                                          bool probe);
// `protocol` websocket or spdy: upgrades a connection to `t` and starts a SPDY session on it,
// ready to open streams for any number of forwarded connections. A refused upgrade is thrown
// as the API's Status.
boost::asio::awaitable<std::shared_ptr<SpdySession>> open_spdy_session(ApiTransport& t, TunnelTarget target,
                                                                       TunnelProtocol protocol);

// True when a failed upgrade was answered by something that is not the API server itself (no
// Status reason: a kubelet, runtime or proxy without support for that protocol), so the next
// protocol is worth trying. RBAC, NotFound and friends come with a reason and are final.
bool upgrade_refused(const Error& e);

}  // namespace mk::k8s
