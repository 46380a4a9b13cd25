#pragma once
// One forwarded connection's byte stream to a pod port through the API server. Two protocols:
// WebSocket (v4.channel.k8s.io, portforward_ws.cpp) and SPDY/3.1 (portforward.k8s.io,
// portforward_spdy.cpp), the fallback for servers that refuse the WebSocket upgrade.
// One read and one write may be outstanding at a time.
#include "k8s/api_transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mk {
class Error;
}

namespace mk::k8s {

enum class TunnelProtocol { websocket, spdy };
std::string_view to_string(TunnelProtocol p);

class PortTunnel {
 public:
  virtual ~PortTunnel() = default;
  // The next bytes from the pod; std::nullopt at the end (then error() says why, if it failed).
  virtual boost::asio::awaitable<std::optional<std::string>> read() = 0;
  virtual boost::asio::awaitable<void> write(std::string_view data) = 0;
  // Abrupt close; idempotent. Pending reads and writes complete with errors.
  virtual void close() = 0;
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
};

// Upgrades a connection to `t` and opens the streams for one forwarded connection. With
// `probe` only the upgrade is done (the pod port is not dialled) and nullptr is returned.
// A refused upgrade is thrown as the API's Status.
boost::asio::awaitable<std::shared_ptr<PortTunnel>> open_websocket_tunnel(ApiTransport& t, TunnelTarget target,
                                                                          bool probe);
boost::asio::awaitable<std::shared_ptr<PortTunnel>> open_spdy_tunnel(ApiTransport& t, TunnelTarget target, bool probe);

// True when a failed WebSocket upgrade was answered by something that is not the API server
// itself (no Status reason: a kubelet, runtime or proxy without WebSocket support), so SPDY is
// worth trying. RBAC, NotFound and friends come with a reason and are final.
bool websocket_refused(const Error& e);

}  // namespace mk::k8s
