#pragma once
// Who may see and stop which port-forward. A 2025-era MCP session owns its forwards: it lists
// them all, their ids are small counters, and they end with the session. Stateless
// (2026-07-28) requests share one registry, so there the id is the capability: 128 random
// bits; a stateless caller sees and stops only the forwards whose ids it presents, and those
// forwards are stopped once idle for the configured time (they have no session to end with).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace mk::tools {

using ForwardClock = std::chrono::steady_clock;

// The registry's view of a running forward (k8s::PortForward in the server, fakes in tests).
class Forwarding {
 public:
  virtual ~Forwarding() = default;
  virtual void stop() = 0;
  // Grows with every connection and byte: unchanged means unused.
  virtual std::uint64_t activity() const = 0;
  virtual boost::json::object info() const = 0;
};

enum class ForwardScope {
  session,     // started in a 2025-era session: listed by that session
  capability,  // started by a stateless request: reachable only by presenting its id
};

struct ForwardRecord {
  std::string id;
  ForwardScope scope = ForwardScope::session;
  // The caller's identity once the HTTP transport authenticates (OAuth); "" = anonymous. A
  // record with an owner is visible only to calls by that owner, whatever id they present.
  std::string owner;
  std::shared_ptr<Forwarding> forward;
  ForwardClock::time_point last_used;  // started, listed by id, or traffic seen
  std::uint64_t activity_seen = 0;     // forward->activity() at the last look
};

struct ForwardLimits {
  std::size_t max_session = 16;     // per MCP session
  std::size_t max_capability = 64;  // stateless forwards in this registry (all stateless callers)
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};  // of stateless forwards
};

// One caller's view: its scope (stateless or not) and identity.
struct ForwardCaller {
  ForwardScope scope = ForwardScope::session;
  std::string owner;
};

class ForwardRegistry : public std::enable_shared_from_this<ForwardRegistry> {
 public:
  using Now = std::function<ForwardClock::time_point()>;
  ForwardRegistry(boost::asio::any_io_executor ex, ForwardLimits limits, Now now = &ForwardClock::now);
  ~ForwardRegistry();  // stops every forward: the session ended
  ForwardRegistry(const ForwardRegistry&) = delete;
  ForwardRegistry& operator=(const ForwardRegistry&) = delete;

  const ForwardLimits& limits() const { return limits_; }

  // session: "pf-<n>"; capability: "pf-" + 22 base64url characters (128 bits from RAND_bytes).
  std::string new_id(ForwardScope scope);
  // Throws Errc::too_large when a forward of this scope would exceed its limit.
  void check_capacity(ForwardScope scope);
  // Throws as check_capacity. Stateless forwards start the idle sweeper.
  void add(const ForwardCaller& caller, std::string id, std::shared_ptr<Forwarding> f);

  // What the caller may see: without ids, a session's own forwards (nothing for a stateless
  // caller); with ids, those of them it may reach. Counts as a use of each forward returned.
  std::vector<const ForwardRecord*> visible(const ForwardCaller& caller, std::span<const std::string> ids = {});
  // Stops one forward the caller may reach; false when there is none with this id.
  bool stop(const ForwardCaller& caller, const std::string& id);
  // Stops what visible(caller, ids) returns; how many.
  std::size_t stop_visible(const ForwardCaller& caller, std::span<const std::string> ids = {});

  // Stops the stateless forwards idle (no new connection, no byte either way, no tool use) for
  // the idle timeout, open connections or not; how many. Runs on every call and from a timer.
  std::size_t expire();
  std::size_t size() const { return records_.size(); }

 private:
  bool reachable(const ForwardCaller& caller, const ForwardRecord& r) const;
  std::size_t count(ForwardScope scope) const;
  void start_sweeper();
  static boost::asio::awaitable<void> sweep(std::weak_ptr<ForwardRegistry> self,
                                            std::shared_ptr<boost::asio::steady_timer> timer,
                                            std::chrono::milliseconds period);

  boost::asio::any_io_executor ex_;
  ForwardLimits limits_;
  Now now_;
  std::uint64_t counter_ = 0;
  std::map<std::string, ForwardRecord> records_;
  std::shared_ptr<boost::asio::steady_timer> sweep_timer_;  // shared with the sweeper coroutine
};

}  // namespace mk::tools
