// v4.channel.k8s.io port-forward: one WebSocket per forwarded connection, the last resort
// (portforward_tunnel.hpp).
#include "k8s/portforward.hpp"
#include "k8s/portforward_tunnel.hpp"
#include "k8s/websocket.hpp"
#include "util/error.hpp"

#include <cstdint>

namespace mk::k8s {
namespace asio = boost::asio;

std::string_view to_string(TunnelProtocol p) {
  switch (p) {
    case TunnelProtocol::spdy: return "spdy";
    case TunnelProtocol::websocket_channel: return "websocket-channel";
    case TunnelProtocol::websocket: break;
  }
  return "websocket";
}

bool upgrade_refused(const Error& e) {
  const auto& d = e.details();
  if (d.contains("unsupportedProtocol")) return true;  // upgraded, but not to what we asked for
  auto* status = d.if_contains("status");
  if (!status || d.contains("reason")) return false;
  auto code = status->to_number<std::int64_t>();
  return code != 401 && code != 101;
}

namespace {
constexpr const char* kProtocol = "v4.channel.k8s.io";

class WebSocketTunnel : public PortTunnel {
 public:
  explicit WebSocketTunnel(std::shared_ptr<ChannelSocket> ws) : ws_(std::move(ws)) {}
  ~WebSocketTunnel() override { ws_->close(); }

  asio::awaitable<std::optional<std::string>> read() override {
    for (;;) {
      auto msg = co_await ws_->read();
      if (!msg) co_return std::nullopt;
      if (msg->empty()) continue;
      auto ch = static_cast<std::uint8_t>((*msg)[0]);
      if (ch > 1) continue;
      std::string_view payload = std::string_view(*msg).substr(1);
      // The first frame on each channel starts with the port number (2 bytes, little-endian).
      if (!header_seen_[ch]) {
        header_seen_[ch] = true;
        payload = payload.size() >= 2 ? payload.substr(2) : std::string_view();
      }
      if (payload.empty()) continue;
      if (ch == 1) {
        error_ = std::string(payload.substr(0, 500));
        co_return std::nullopt;
      }
      co_return std::string(payload);
    }
  }

  asio::awaitable<void> write(std::string_view data) override { co_await ws_->write(0, data); }
  void close() override { ws_->close(); }

 private:
  std::shared_ptr<ChannelSocket> ws_;
  bool header_seen_[2] = {false, false};
};
}  // namespace

asio::awaitable<std::shared_ptr<PortTunnel>> open_websocket_tunnel(ApiTransport& t, TunnelTarget target, bool probe) {
  std::vector<std::string> protocols{kProtocol};  // not braced inside co_await (g++ 12)
  auto ws = co_await ChannelSocket::open(t, portforward_target(target.ns, target.pod, target.port), protocols,
                                         target.what, target.timeout, target.trace);
  if (probe) {
    ws->close();
    co_return nullptr;
  }
  co_return std::make_shared<WebSocketTunnel>(std::move(ws));
}

}  // namespace mk::k8s
