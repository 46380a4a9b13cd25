#include "auth/memory_store.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cstdint>
#include <unordered_map>

namespace mk::auth {
namespace {
using Clock = std::chrono::steady_clock;

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::size_t max) : max_(max) {}

  boost::asio::awaitable<std::optional<std::string>> get(std::string key) override {
    auto it = live(key);
    if (it == map_.end()) co_return std::nullopt;
    co_return it->second.value;
  }
  boost::asio::awaitable<void> put(std::string key, std::string value, Ttl ttl) override {
    auto it = live(key);
    if (it == map_.end()) make_room();
    map_[std::move(key)] = Entry{std::move(value), deadline(ttl)};
    co_return;
  }
  boost::asio::awaitable<bool> put_if_absent(std::string key, std::string value, Ttl ttl) override {
    if (live(key) != map_.end()) co_return false;
    make_room();
    map_.emplace(std::move(key), Entry{std::move(value), deadline(ttl)});
    co_return true;
  }
  boost::asio::awaitable<bool> put_if_present(std::string key, std::string value, Ttl ttl) override {
    auto it = live(key);
    if (it == map_.end()) co_return false;
    it->second = Entry{std::move(value), deadline(ttl)};
    co_return true;
  }
  boost::asio::awaitable<std::optional<std::string>> take(std::string key) override {
    auto it = live(key);
    if (it == map_.end()) co_return std::nullopt;
    std::optional<std::string> v = std::move(it->second.value);
    map_.erase(it);
    co_return v;
  }
  boost::asio::awaitable<bool> erase(std::string key) override {
    auto it = live(key);
    if (it == map_.end()) co_return false;
    map_.erase(it);
    co_return true;
  }
  boost::asio::awaitable<bool> touch(std::string key, Ttl ttl) override {
    auto it = live(key);
    if (it == map_.end()) co_return false;
    it->second.expires = deadline(ttl);
    co_return true;
  }
  boost::asio::awaitable<std::int64_t> incr(std::string key, Ttl window) override {
    auto it = live(key);
    if (it == map_.end()) {
      make_room();
      map_[std::move(key)] = Entry{"1", deadline(window)};
      co_return 1;
    }
    // Like Valkey's INCR: the whole value must be a 64-bit integer, and it must not overflow.
    const std::string& v = it->second.value;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n == INT64_MAX)
      fail(Errc::invalid_argument, "store: counter key holds a non-number");
    it->second.value = std::to_string(++n);
    co_return n;
  }
  boost::asio::awaitable<std::string> check() override { co_return std::string(); }

 private:
  struct Entry {
    std::string value;
    Clock::time_point expires;  // max(): never
  };
  using Map = std::unordered_map<std::string, Entry>;

  static Clock::time_point deadline(Ttl ttl) { return ttl.count() > 0 ? Clock::now() + ttl : Clock::time_point::max(); }
  Map::iterator live(const std::string& key) {
    auto it = map_.find(key);
    if (it != map_.end() && it->second.expires <= Clock::now()) {
      map_.erase(it);
      return map_.end();
    }
    return it;
  }
  void make_room() {
    if (map_.size() < max_) return;
    auto now = Clock::now();
    std::erase_if(map_, [now](const auto& kv) { return kv.second.expires <= now; });
    if (map_.size() >= max_) {
      fail(Errc::unavailable, fmt::format("OAuth memory store is full ({} entries); try again later", max_));
    }
  }

  std::size_t max_;
  Map map_;
};
}  // namespace

std::unique_ptr<Store> make_memory_store(std::size_t max_entries) { return std::make_unique<MemoryStore>(max_entries); }

}  // namespace mk::auth
