#include "auth/crypto.hpp"

#include "auth/openssl_ptr.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdint>
#include <memory>

namespace mk::auth {
namespace {

using CipherCtx = OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

constexpr std::string_view kUrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Which characters stand for 62 and 63: base64url ("-_", tokens and JWS), standard ("+/",
// what `openssl rand -base64 32` prints), or either (a key given by hand).
enum class Alphabet { url, standard, any };

int sextet(unsigned char c, Alphabet a) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (a != Alphabet::standard) {
    if (c == '-') return 62;
    if (c == '_') return 63;
  }
  if (a != Alphabet::url) {
    if (c == '+') return 62;
    if (c == '/') return 63;
  }
  return -1;
}

// Strict: padding is either absent or complete (to a multiple of 4), and the unused low bits of
// the last character must be zero, so each byte string has exactly one accepted encoding (a
// token or signature cannot be re-spelled into a different string that still verifies).
std::optional<std::string> decode(std::string_view text, Alphabet a) {
  if (!text.empty() && text.size() % 4 == 0) {
    if (text.back() == '=') text.remove_suffix(1);
    if (text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return std::nullopt;  // 6 bits cannot make a byte
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : text) {
    int v = sextet(c, a);
    if (v < 0) return std::nullopt;  // also a '=' left in the middle
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

const unsigned char* bytes_of(const char* p) { return reinterpret_cast<const unsigned char*>(p); }

constexpr std::size_t kKeyBytes = 32;    // AES-256
constexpr std::size_t kNonceBytes = 12;  // 96 bits: GCM's native nonce size (no GHASH of the IV)
constexpr std::size_t kTagBytes = 16;    // full-length tag
// EVP takes int lengths; what we seal are tokens of a few KiB, so anything near INT_MAX is a bug.
constexpr std::size_t kMaxSealBytes = INT_MAX / 2;

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const unsigned char* b = bytes_of(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (std::uint32_t{b[i]} << 16) | (std::uint32_t{b[i + 1]} << 8) | b[i + 2];
    out.push_back(kUrlAlphabet[(v >> 18) & 63]);
    out.push_back(kUrlAlphabet[(v >> 12) & 63]);
    out.push_back(kUrlAlphabet[(v >> 6) & 63]);
    out.push_back(kUrlAlphabet[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{b[i]} << 16;
    if (rest == 2) v |= std::uint32_t{b[i + 1]} << 8;
    out.push_back(kUrlAlphabet[(v >> 18) & 63]);
    out.push_back(kUrlAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kUrlAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) { return decode(text, Alphabet::url); }

std::string sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len, EVP_sha256(), nullptr) !=
          1 ||
      len != out.size()) {
    fail(Errc::internal, "SHA-256 failed");
  }
  return out;
}

std::string sha256_b64url(std::string_view data) { return base64url_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data.data()), data.size(),
            reinterpret_cast<unsigned char*>(out.data()), &len) ||
      len != out.size())
    fail(Errc::internal, "HMAC-SHA256 failed");
  return out;
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (bytes > INT_MAX || RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    fail(Errc::internal, "random number generator failed");
  }
  return base64url_encode(raw);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // The length is not secret (tokens have a fixed shape); only the content is compared in
  // constant time, and never past the shorter input.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Sealer::Sealer(std::string key) : key_(std::move(key)) {
  if (key_.size() != kKeyBytes) fail(Errc::invalid_argument, "an AES-256-GCM key is 32 bytes");
}

Sealer Sealer::from_text(std::string_view text) {
  // A key read from a file usually ends with a newline.
  while (!text.empty() && std::string_view(" \t\r\n").find(text.back()) != std::string_view::npos) {
    text.remove_suffix(1);
  }
  while (!text.empty() && std::string_view(" \t\r\n").find(text.front()) != std::string_view::npos) {
    text.remove_prefix(1);
  }
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() == 2 * kKeyBytes) {
    std::string key;
    for (std::size_t i = 0; i < text.size(); i += 2) {
      int hi = hex(text[i]), lo = hex(text[i + 1]);
      if (hi < 0 || lo < 0) {
        key.clear();
        break;
      }
      key.push_back(static_cast<char>(hi << 4 | lo));
    }
    if (key.size() == kKeyBytes) return Sealer(key);  // a copy: g++ 12 -Warray-bounds misfires on the move
  }
  if (auto key = decode(text, Alphabet::any); key && key->size() == kKeyBytes) return Sealer(*key);
  // Never echo the text: it is (a mistyped) secret.
  fail(Errc::invalid_argument,
       "the OAuth encryption key must be 32 bytes written as 64 hex digits or in base64/base64url "
       "(for example the output of `openssl rand -base64 32`)");
}

Sealer Sealer::from_secret(Secret text) {
  auto now = text.get();
  auto s = from_text(now);
  s.source_ = std::move(text);
  s.source_text_ = std::move(now);
  return s;
}

void Sealer::refresh() const {
  if (!source_.from_file()) return;
  auto text = source_.get();
  if (text == source_text_) return;
  source_text_ = text;
  try {
    auto next = from_text(text);
    if (next.key_ == key_) return;
    previous_.insert(previous_.begin(), key_);
    if (previous_.size() > 2) previous_.resize(2);
    key_ = next.key_;
    log::info("OAuth encryption key changed: new tokens are sealed with it, older ones still open");
  } catch (const Error&) {
    log::warn("OAuth encryption key file changed but holds no valid key; the previous key stays in use");
  }
}

std::string Sealer::seal(std::string_view plaintext, std::string_view aad) const {
  refresh();
  if (plaintext.size() > kMaxSealBytes || aad.size() > kMaxSealBytes) fail(Errc::too_large, "too much data to seal");
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  auto* body = nonce + kNonceBytes;
  if (RAND_bytes(nonce, kNonceBytes) != 1) fail(Errc::internal, "random number generator failed");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key_.data()), nonce) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad.data()), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), body, &len, bytes_of(plaintext.data()), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + len, &fin) != 1 ||
      static_cast<std::size_t>(len + fin) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, body + plaintext.size()) != 1) {
    fail(Errc::internal, "AES-256-GCM encryption failed");
  }
  return base64url_encode(out);
}

std::optional<std::string> Sealer::open(std::string_view sealed, std::string_view aad) const {
  refresh();
  if (auto v = open_with(key_, sealed, aad)) return v;
  for (auto& k : previous_)
    if (auto v = open_with(k, sealed, aad)) return v;
  return std::nullopt;
}

std::optional<std::string> Sealer::open_with(const std::string& key, std::string_view sealed,
                                             std::string_view aad) const {
  if (sealed.size() > kMaxSealBytes || aad.size() > kMaxSealBytes) return std::nullopt;
  auto raw = base64url_decode(sealed);
  if (!raw || raw->size() < kNonceBytes + kTagBytes) return std::nullopt;
  auto* nonce = reinterpret_cast<unsigned char*>(raw->data());
  auto* body = nonce + kNonceBytes;
  std::size_t body_len = raw->size() - kNonceBytes - kTagBytes;
  std::string out(body_len, '\0');
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  // Nothing decrypted is returned unless the tag (over aad and ciphertext) checks out.
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key.data()), nonce) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad.data()), static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), plain, &len, body, static_cast<int>(body_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, body + body_len) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain + len, &fin) != 1 || static_cast<std::size_t>(len + fin) != body_len) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

}  // namespace mk::auth
