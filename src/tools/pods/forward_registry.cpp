#include "tools/pods/forward_registry.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <openssl/rand.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace mk::tools {
namespace asio = boost::asio;

namespace {
std::string base64url(const unsigned char* p, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

bool named(std::span<const std::string> ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}
}  // namespace

ForwardRegistry::ForwardRegistry(asio::any_io_executor ex, ForwardLimits limits, Now now)
    : ex_(std::move(ex)), limits_(limits), now_(std::move(now)) {}

ForwardRegistry::~ForwardRegistry() {
  if (sweep_timer_) sweep_timer_->cancel();
  for (auto& [id, r] : records_) r.forward->stop();
}

std::string ForwardRegistry::new_id(ForwardScope scope) {
  if (scope == ForwardScope::session) return "pf-" + std::to_string(++counter_);
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) fail(Errc::internal, "no randomness for a port-forward id");
  return "pf-" + base64url(raw, sizeof raw);
}

std::size_t ForwardRegistry::count(ForwardScope scope) const {
  return static_cast<std::size_t>(
      std::count_if(records_.begin(), records_.end(), [&](auto& kv) { return kv.second.scope == scope; }));
}

void ForwardRegistry::check_capacity(ForwardScope scope) {
  expire();
  auto n = count(scope);
  if (scope == ForwardScope::session && n >= limits_.max_session)
    fail(Errc::too_large, fmt::format("this session already has {} port-forwards (the limit); stop one with "
                                      "k8s_stop_port_forward_session",
                                      n));
  if (scope == ForwardScope::capability && n >= limits_.max_capability)
    fail(Errc::too_large,
         fmt::format("the server already runs {} port-forwards for stateless requests (the limit); stop one with "
                     "k8s_stop_port_forward_session or wait until idle ones expire",
                     n));
}

void ForwardRegistry::add(const ForwardCaller& caller, std::string id, std::shared_ptr<Forwarding> f) {
  check_capacity(caller.scope);
  if (records_.contains(id)) fail(Errc::internal, fmt::format("port-forward id \"{}\" is taken", id));
  ForwardRecord r;
  r.id = id;
  r.scope = caller.scope;
  r.owner = caller.owner;
  r.activity_seen = f->activity();
  r.forward = std::move(f);
  r.last_used = now_();
  records_.emplace(std::move(id), std::move(r));
  if (caller.scope == ForwardScope::capability) start_sweeper();
}

bool ForwardRegistry::reachable(const ForwardCaller& caller, const ForwardRecord& r) const {
  if (!r.owner.empty() && r.owner != caller.owner) return false;
  // A stateless caller reaches only capability forwards: session ids are small counters.
  return caller.scope == ForwardScope::session || r.scope == ForwardScope::capability;
}

std::vector<const ForwardRecord*> ForwardRegistry::visible(const ForwardCaller& caller,
                                                           std::span<const std::string> ids) {
  expire();
  std::vector<const ForwardRecord*> out;
  auto now = now_();
  for (auto& [id, r] : records_) {
    bool wanted =
        ids.empty() ? caller.scope == ForwardScope::session && r.scope == ForwardScope::session : named(ids, id);
    if (!wanted || !reachable(caller, r)) continue;
    r.last_used = now;
    out.push_back(&r);
  }
  return out;
}

bool ForwardRegistry::stop(const ForwardCaller& caller, const std::string& id) {
  expire();
  auto it = records_.find(id);
  if (it == records_.end() || !reachable(caller, it->second)) return false;
  auto f = it->second.forward;
  records_.erase(it);
  f->stop();
  return true;
}

std::size_t ForwardRegistry::stop_visible(const ForwardCaller& caller, std::span<const std::string> ids) {
  std::vector<std::string> doomed;
  for (auto* r : visible(caller, ids)) doomed.push_back(r->id);
  for (auto& id : doomed) stop(caller, id);
  return doomed.size();
}

std::size_t ForwardRegistry::expire() {
  auto now = now_();
  std::vector<std::shared_ptr<Forwarding>> doomed;
  for (auto it = records_.begin(); it != records_.end();) {
    auto& r = it->second;
    if (r.scope != ForwardScope::capability) {
      ++it;
      continue;
    }
    // A connection kept open without traffic does not count: a pod (or client) that never
    // closes would keep a forward nobody uses alive for ever.
    auto activity = r.forward->activity();
    if (activity != r.activity_seen) {
      r.activity_seen = activity;
      r.last_used = now;
      ++it;
      continue;
    }
    if (now - r.last_used < limits_.idle_timeout) {
      ++it;
      continue;
    }
    log::info("port-forward {}: stopped after {} s without use (stateless, --port-forward-idle-timeout)", it->first,
              std::chrono::duration_cast<std::chrono::seconds>(now - r.last_used).count());
    doomed.push_back(std::move(r.forward));
    it = records_.erase(it);
  }
  for (auto& f : doomed) f->stop();
  return doomed.size();
}

void ForwardRegistry::start_sweeper() {
  if (sweep_timer_) return;
  auto period = std::clamp<std::chrono::milliseconds>(limits_.idle_timeout / 4, std::chrono::milliseconds(50),
                                                      std::chrono::seconds(30));
  sweep_timer_ = std::make_shared<asio::steady_timer>(ex_);
  asio::co_spawn(ex_, sweep(weak_from_this(), sweep_timer_, period), asio::detached);
}

asio::awaitable<void> ForwardRegistry::sweep(std::weak_ptr<ForwardRegistry> weak,
                                             std::shared_ptr<asio::steady_timer> timer,
                                             std::chrono::milliseconds period) {
  for (;;) {
    if (weak.expired()) co_return;  // gone before this coroutine first ran: its cancel was missed
    timer->expires_after(period);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled: the registry is going away
    auto self = weak.lock();
    if (!self) co_return;
    try {
      self->expire();
    } catch (const std::exception& e) {
      log::warn("port-forward idle sweep: {}", e.what());
    }
    if (self->count(ForwardScope::capability) == 0) {
      self->sweep_timer_.reset();  // the next stateless forward starts another
      co_return;
    }
  }
}

}  // namespace mk::tools
