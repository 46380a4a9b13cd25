#pragma once
// A WebSocket to the API server speaking the Kubernetes channel protocols (exec, port-forward):
// every binary message starts with a channel byte; or carrying a tunnelled SPDY connection
// (write_binary). One read and one write may be outstanding at
// a time (Beast's rule); callers serialise their writes.
#include "k8s/api_transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::k8s {

class ChannelSocket {
 public:
  // Dials and upgrades `target` (path and query; base path prepended) offering `protocols` in
  // preference order, within `timeout`. A refused upgrade (403, 404, 400 ...) is thrown as the
  // API's Status, with `what` naming the operation. A valid `trace` is sent as `traceparent`.
  static boost::asio::awaitable<std::shared_ptr<ChannelSocket>> open(ApiTransport& t, std::string target,
                                                                     std::vector<std::string> protocols,
                                                                     std::string what,
                                                                     std::chrono::milliseconds timeout,
                                                                     mk::trace::SpanContext trace);
  ~ChannelSocket();

  // The subprotocol the server chose.
  const std::string& protocol() const { return protocol_; }
  // The next message, channel byte first; std::nullopt once the server closed the socket.
  boost::asio::awaitable<std::optional<std::string>> read();
  // Sends one binary message: `channel` then `data`.
  boost::asio::awaitable<void> write(std::uint8_t channel, std::string_view data);
  // Sends `data` as one binary message, no channel byte (SPDY tunnelled in WebSocket).
  boost::asio::awaitable<void> write_binary(std::string_view data);
  // Sends a close frame (best effort) and shuts the socket.
  boost::asio::awaitable<void> close_gracefully();
  // Abrupt close; idempotent. Pending reads and writes complete with errors.
  void close();

  struct Impl;

 private:
  ChannelSocket() = default;
  std::unique_ptr<Impl> impl_;
  std::string protocol_;
};

// Message size cap for reads: the apiserver sends at most 32 KiB per frame, so this is generous.
inline constexpr std::size_t kMaxChannelMessage = 4u << 20;

}  // namespace mk::k8s
