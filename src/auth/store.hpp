#pragma once
// What OAuth keeps between requests (registered clients, authorization codes, tokens, flow
// state, MCP session records): a small key-value store with expiry. Two implementations:
// memory (one process) and Valkey/Redis (shared by replicas). Values are opaque strings the
// caller encodes; secrets are hashed or sealed before they reach a store. Every operation that
// two replicas could race on (redeeming a code, rotating a refresh token, counting) is one
// atomic step here, so the caller needs no locks.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mk::auth {

using Ttl = std::chrono::milliseconds;  // zero: no expiry

class Store {
 public:
  virtual ~Store() = default;
  virtual boost::asio::awaitable<std::optional<std::string>> get(std::string key) = 0;
  virtual boost::asio::awaitable<void> put(std::string key, std::string value, Ttl ttl) = 0;
  // Writes only when the key is absent; true when written.
  virtual boost::asio::awaitable<bool> put_if_absent(std::string key, std::string value, Ttl ttl) = 0;
  // Writes only when the key exists; true when written. An update of a record that may have
  // been deleted meanwhile (a revoked token family) must not bring it back.
  virtual boost::asio::awaitable<bool> put_if_present(std::string key, std::string value, Ttl ttl) = 0;
  // Reads and deletes in one step: of two concurrent takes, one gets the value.
  virtual boost::asio::awaitable<std::optional<std::string>> take(std::string key) = 0;
  // True when the key existed.
  virtual boost::asio::awaitable<bool> erase(std::string key) = 0;
  // Restarts the key's expiry at `ttl` without rewriting it; false when the key is absent.
  virtual boost::asio::awaitable<bool> touch(std::string key, Ttl ttl) = 0;
  // Adds one and returns the new count; the first increment starts a window of `window`
  // after which the count disappears (fixed-window rate limits, per-address caps).
  virtual boost::asio::awaitable<std::int64_t> incr(std::string key, Ttl window) = 0;
  // For /readyz: "" when usable, else why not.
  virtual boost::asio::awaitable<std::string> check() = 0;
};

}  // namespace mk::auth
