#pragma once
// Which MCP session to evict when a new one would exceed a cap (total or per client address).
// A session with a request or stream open, or a tool call still running, is never evicted.
// First go sessions that never finished the handshake (no notifications/initialized), then
// ones that finished it but were never used, then the idlest; oldest last activity first
// within each group. So a flood of bare `initialize` POSTs displaces itself, not real clients.
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

namespace mk::transport::http {

struct SessionState {
  bool busy = false;
  bool initialized = false;
  bool used = false;
  std::chrono::steady_clock::time_point last_seen;
};

std::optional<std::size_t> pick_eviction(std::span<const SessionState> sessions);

}  // namespace mk::transport::http
