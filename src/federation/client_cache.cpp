#include "federation/client_cache.hpp"

#include "instrumentation/metrics.hpp"

#include <fmt/core.h>
#include <openssl/sha.h>

#include <algorithm>

namespace mk::federation {

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  std::string hex;
  hex.reserve(2 * sizeof md);
  for (unsigned char c : md) hex += fmt::format("{:02x}", c);
  return hex;
}

namespace {
void count(const char* result) {
  metrics::Registry::global().inc("mcp_kubernetes_wc_client_cache_total", {{"result", result}});
}
}  // namespace

ClientCache::ClientCache(std::size_t max_entries, std::chrono::milliseconds ttl, Clock clock)
    : max_(std::max<std::size_t>(1, max_entries)), ttl_(ttl), clock_(std::move(clock)) {}

void ClientCache::erase(std::map<CacheKey, Entry>::iterator it) {
  lru_.erase(it->second.lru);
  map_.erase(it);
}

void ClientCache::publish() const {
  metrics::Registry::global().set("mcp_kubernetes_wc_client_cache_entries", {}, static_cast<double>(map_.size()));
}

std::shared_ptr<k8s::Client> ClientCache::get(const CacheKey& k) {
  auto it = map_.find(k);
  if (it != map_.end() && now() - it->second.created >= ttl_) {
    erase(it);
    ++evictions_;
    count("eviction");
    publish();
    it = map_.end();
  }
  if (it == map_.end()) {
    count("miss");
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  count("hit");
  return it->second.client;
}

void ClientCache::put(const CacheKey& k, std::shared_ptr<k8s::Client> c) {
  if (auto it = map_.find(k); it != map_.end()) erase(it);
  auto t = now();
  // Expired entries go first, then the least recently used (a caller holding one keeps it alive).
  for (auto it = map_.begin(); it != map_.end();) {
    if (t - it->second.created >= ttl_) {
      lru_.erase(it->second.lru);
      it = map_.erase(it);
      ++evictions_;
      count("eviction");
    } else {
      ++it;
    }
  }
  while (map_.size() >= max_) {
    erase(map_.find(lru_.back()));
    ++evictions_;
    count("eviction");
  }
  lru_.push_front(k);
  map_.emplace(k, Entry{std::move(c), t, lru_.begin()});
  publish();
}

}  // namespace mk::federation
