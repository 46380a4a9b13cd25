#pragma once
// The few cryptographic primitives OAuth needs, on OpenSSL 3, in one place. Inputs come from
// strangers: every decoder returns nullopt on malformed input instead of throwing.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

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

// AES-256-GCM for what must be read back (upstream ID/refresh tokens): a fresh 96-bit nonce
// per seal; `aad` binds a ciphertext to its use (e.g. the store key) so it cannot be moved.
class Sealer {
 public:
  explicit Sealer(std::string key);  // 32 raw bytes, else Errc::invalid_argument
  // `--oauth-encryption-key`: 64 hex digits, or base64/base64url of 32 bytes.
  static Sealer from_text(std::string_view text);
  // base64url(nonce | ciphertext | tag)
  std::string seal(std::string_view plaintext, std::string_view aad = {}) const;
  // nullopt when tampered with, truncated, sealed under another key or another aad.
  std::optional<std::string> open(std::string_view sealed, std::string_view aad = {}) const;

 private:
  std::string key_;
};

}  // namespace mk::auth
