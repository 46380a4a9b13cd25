#include "transport/http/session_policy.hpp"

#include <tuple>

namespace mk::transport::http {

std::optional<std::size_t> pick_eviction(std::span<const SessionState> sessions) {
  std::optional<std::size_t> best;
  auto key = [](const SessionState& s) { return std::tuple(s.initialized, s.used, s.last_seen); };
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    if (sessions[i].busy) continue;
    if (!best || key(sessions[i]) < key(sessions[*best])) best = i;
  }
  return best;
}

}  // namespace mk::transport::http
