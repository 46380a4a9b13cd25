#pragma once
// Port-forward streams multiplexed over one SPDY/3.1 connection, as kubectl does it: every
// forwarded connection is an error stream and a data stream sharing one `requestid`, so a new
// local connection costs two SYN_STREAMs on a live connection instead of a TLS handshake and
// an upgrade. The connection under the framing is a raw SPDY upgrade or SPDY tunnelled in
// WebSocket binary messages (SpdyPipe).
#include "k8s/portforward_tunnel.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mk::k8s {

// The bytes under the SPDY framing. One read and one write may be outstanding at a time.
class SpdyPipe {
 public:
  virtual ~SpdyPipe() = default;
  // Appends what arrived to `out`; false at the end of the connection. Throws on a failure.
  virtual boost::asio::awaitable<bool> read(std::string& out) = 0;
  virtual boost::asio::awaitable<void> write(std::string_view bytes) = 0;
  // Abrupt close; idempotent. Pending operations complete with errors.
  virtual void close() = 0;
};

struct SpdySessionOptions {
  // Keep-alive PING period (client-go pings every 10 s); 0 disables. A session whose PINGs go
  // unanswered for three periods is closed, so a dead connection is noticed and re-dialled.
  std::chrono::milliseconds ping_period{10000};
  // Data queued for one stream that its reader has not taken yet. Past this the session stops
  // reading the connection (every stream waits, as with client-go) until the reader catches up
  // or `stall_timeout` passes, which resets the stalled stream.
  std::size_t max_queued = 1u << 20;
  std::chrono::milliseconds stall_timeout{30000};
};

class SpdySession : public std::enable_shared_from_this<SpdySession> {
 public:
  // Takes over a connection whose upgrade is done (`leftover`: bytes already read past it) and
  // starts reading it; `what` names the forward in errors.
  static std::shared_ptr<SpdySession> start(boost::asio::any_io_executor ex, std::unique_ptr<SpdyPipe> pipe,
                                            std::string what, SpdySessionOptions options = {});
  ~SpdySession();
  SpdySession(const SpdySession&) = delete;
  SpdySession& operator=(const SpdySession&) = delete;

  // Opens the error and data streams of one forwarded connection to `port` and waits up to
  // `timeout` for the server to accept both (data sent before that would be dropped). Throws
  // with the pod side's reason (e.g. "failed to dial 127.0.0.1:8080") when it refuses.
  boost::asio::awaitable<std::shared_ptr<PortTunnel>> open(int port, std::chrono::milliseconds timeout);

  // False once the connection ended (closed, failed, GOAWAY, PINGs unanswered).
  bool alive() const;
  // Why it ended ("" while alive or after a clean close).
  const std::string& end_reason() const;
  std::size_t open_streams() const;
  // Closes the connection; every stream ends. Idempotent.
  void close();

  struct State;

 private:
  SpdySession() = default;
  std::shared_ptr<State> state_;
};

}  // namespace mk::k8s
