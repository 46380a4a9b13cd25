#pragma once
// One MCP session: a stdio process or one Mcp-Session-Id over HTTP. Owns the negotiated
// protocol version, log level, in-flight requests (for cancellation) and the
// application's per-session state (e.g. the selected kube context, port-forwards).
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "util/identity.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace mcp {

namespace json = boost::json;

// Base for application state attached to a session.
struct SessionData {
  virtual ~SessionData() = default;
  // What of this state other replicas must see when sessions are shared (e.g. the selected
  // context); resources that live in this process (port-forwards) are not part of it.
  virtual json::object snapshot() const { return {}; }
  // Applies another replica's snapshot; must treat it as untrusted input (it came from a store).
  virtual void restore(const json::object&) {}
};

// RFC 5424 levels used by logging/setLevel; `off` until the client asks.
int log_level_rank(std::string_view level);  // -1 when unknown

struct Inflight {
  boost::asio::cancellation_signal signal;
  bool timed_out = false;
  bool cancelled_by_client = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Sender = std::function<void(json::object)>;
  explicit Session(Sender send) : send_(std::move(send)) {}
  virtual ~Session() = default;

  void send(json::object msg) {
    if (send_) send_(std::move(msg));
  }
  void set_sender(Sender s) { send_ = std::move(s); }

  std::string id;  // transport-level id (HTTP session); empty for stdio
  std::string protocol_version;
  bool initialized = false;
  json::object client_info;
  json::object client_capabilities;
  int log_rank = 99;                                          // nothing is sent until logging/setLevel
  std::map<std::string, std::shared_ptr<Inflight>> inflight;  // key: serialized request id
  std::shared_ptr<SessionData> data;                          // shared by the per-request sessions of stateless HTTP
  // The authenticated caller (OAuth): a 2025-era session's owner (refreshed per request, same
  // subject), or the one request's caller on a stateless session. Empty without OAuth.
  mk::Identity identity;

  template <class T>
  T* get() {
    return dynamic_cast<T*>(data.get());
  }
  void cancel_all();

 private:
  Sender send_;
};

}  // namespace mcp
