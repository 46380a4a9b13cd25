#pragma once
// Workload-cluster clients, one per (cluster, user, groups, token): bounded in entries, each
// living at most `ttl` after creation, least recently used evicted first. Never keyed by
// e-mail alone: two sessions of one user with different groups or tokens get different
// clients (the original keyed by e-mail and served stale groups and revoked tokens).
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mk::k8s {
class Client;
}

namespace mk::federation {

struct CacheKey {
  std::string cluster_ns, cluster_name;
  std::string subject, email;
  std::vector<std::string> groups;  // sorted (map_groups)
  std::string token_hash;           // sha256 hex of the upstream token ("" without one)
  std::string mode;                 // auth mode: a client made for one mode never serves another
  auto operator<=>(const CacheKey&) const = default;
};

std::string sha256_hex(std::string_view data);

class ClientCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  ClientCache(std::size_t max_entries, std::chrono::milliseconds ttl, Clock clock = {});

  // The cached client, or nullptr (expired entries are dropped on the way).
  std::shared_ptr<k8s::Client> get(const CacheKey& k);
  void put(const CacheKey& k, std::shared_ptr<k8s::Client> c);
  std::size_t size() const { return map_.size(); }
  std::size_t evictions() const { return evictions_; }

 private:
  struct Entry {
    std::shared_ptr<k8s::Client> client;
    std::chrono::steady_clock::time_point created;
    std::list<CacheKey>::iterator lru;
  };
  std::chrono::steady_clock::time_point now() const { return clock_ ? clock_() : std::chrono::steady_clock::now(); }
  void erase(std::map<CacheKey, Entry>::iterator it);
  void publish() const;

  std::size_t max_;
  std::chrono::milliseconds ttl_;
  Clock clock_;
  std::map<CacheKey, Entry> map_;
  std::list<CacheKey> lru_;  // front = most recently used
  std::size_t evictions_ = 0;
};

}  // namespace mk::federation
