#pragma once
// Token buckets per key (the MCP endpoint's per-user limit), in this process: the check runs on
// every MCP request, so it costs no store round trip; with N replicas a user gets up to N
// times the rate. Bounded: idle users' buckets (full again) are dropped first when the map is
// full, then the least recently used; a dropped bucket only starts full again.
#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace mk::auth {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // `per_second` tokens refill each second up to `burst`; per_second 0 disables the limit.
  RateLimiter(double per_second, double burst, std::size_t max_keys = 10'000)
      : rate_(per_second), burst_(burst < 1 ? 1 : burst), max_keys_(max_keys) {}
  bool enabled() const { return rate_ > 0; }
  // Takes one token; false when the bucket is empty.
  bool allow(const std::string& key, Clock::time_point now);
  // Seconds until one token is back (for Retry-After), at least 1.
  long retry_after() const;
  std::size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  double level(const Bucket& b, Clock::time_point now) const;
  void make_room(Clock::time_point now);
  double rate_, burst_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace mk::auth
