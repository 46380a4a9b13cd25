#include "auth/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace mk::auth {

double RateLimiter::level(const Bucket& b, Clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  return std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
}

void RateLimiter::make_room(Clock::time_point now) {
  if (buckets_.size() < max_keys_) return;
  std::erase_if(buckets_, [&](const auto& kv) { return level(kv.second, now) >= burst_; });
  if (buckets_.size() < max_keys_) return;
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
  buckets_.erase(oldest);
}

bool RateLimiter::allow(const std::string& key, Clock::time_point now) {
  if (!enabled()) return true;
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    make_room(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  auto& b = it->second;
  b.tokens = level(b, now);
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

long RateLimiter::retry_after() const {
  if (!enabled()) return 1;
  return std::max(1L, static_cast<long>(std::ceil(1.0 / rate_)));
}

}  // namespace mk::auth
