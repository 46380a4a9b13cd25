#pragma once
// The few cryptographic primitives OAuth needs, on OpenSSL 3, in one place. Inputs come from
// strangers: every decoder returns nullopt on malformed input instead of throwing.
#include "auth/secret.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::auth {

std::string base64url_encode(std::string_view bytes);  // no padding
// Accepts base64url with or without padding; nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);

std::string sha256(std::string_view data);  // 32 raw bytes
// base64url(sha256(data)): PKCE S256 challenges, and the store keys of tokens (stored hashed).
std::string sha256_b64url(std::string_view data);

// base64url of `bytes` CSPRNG bytes (RAND_bytes); throws Errc::internal if the RNG fails.
std::string random_token(std::size_t bytes = 32);

bool constant_time_equal(std::string_view a, std::string_view b);

// HMAC-SHA256 (32 raw bytes): the consent cookie's MAC.
std::string hmac_sha256(std::string_view key, std::string_view data);

// AES-256-GCM for what must be read back (upstream ID/refresh tokens): a fresh 96-bit nonce
// per seal; `aad` binds a ciphertext to its use (e.g. the store key) so it cannot be moved.
class Sealer {
 public:
  explicit Sealer(std::string key);  // 32 raw bytes, else Errc::invalid_argument
  // `--oauth-encryption-key`: 64 hex digits, or base64/base64url of 32 bytes.
  static Sealer from_text(std::string_view text);
  // `--oauth-encryption-key-file`: the key is taken again when the file changes. New seals use
  // the new key; what was sealed under the two keys before it still opens (a rotation does not
  // sign everyone out). A changed file that holds no valid key is ignored with a warning.
  static Sealer from_secret(Secret text);
  // base64url(nonce | ciphertext | tag)
  std::string seal(std::string_view plaintext, std::string_view aad = {}) const;
  // nullopt when tampered with, truncated, sealed under another key or another aad.
  std::optional<std::string> open(std::string_view sealed, std::string_view aad = {}) const;
  // A key for another purpose derived from this one (HMAC of `label`), so replicas sharing
  // --oauth-encryption-key share it too, and it never equals the sealing key.
  std::string derive(std::string_view label) const {
    refresh();
    return hmac_sha256(key_, label);
  }

 private:
  void refresh() const;
  std::optional<std::string> open_with(const std::string& key, std::string_view sealed, std::string_view aad) const;
  mutable std::string key_;
  mutable std::vector<std::string> previous_;  // at most two
  Secret source_;
  mutable std::string source_text_;
};

}  // namespace mk::auth
