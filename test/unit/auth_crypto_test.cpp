// The OAuth primitives: base64url is strict (one accepted spelling per byte string), SHA-256
// matches the published vectors, and the Sealer opens only what it sealed, under the same key
// and aad, untouched.
#include "auth/crypto.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace mk::auth;

namespace {
std::string hex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}
mk::Errc code_of(auto&& f) {
  try {
    f();
  } catch (const mk::Error& e) {
    return e.code();
  }
  return mk::Errc::internal;  // "did not throw" is checked separately
}
}  // namespace

TEST(Base64Url, Rfc4648Vectors) {
  // RFC 4648 section 10, in the url alphabet without padding.
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");  // 62 and 63 are - and _
}

TEST(Base64Url, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); ++n) {
    auto s = all.substr(all.size() - n);
    auto back = base64url_decode(base64url_encode(s));
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, s) << n;
  }
}

TEST(Base64Url, AcceptsWithOrWithoutPadding) {
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zg=="), "f");
  EXPECT_EQ(base64url_decode("Zm8="), "fo");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode(""), "");
}

TEST(Base64Url, RefusesAnythingElse) {
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "Zm9v+w",    // standard alphabet
           "Zm9v/w",    //
           "Zm 9v",     // whitespace
           "Zm9v\n",    //
           "Z",         // one character is 6 bits: no byte
           "Zm9vY",     // same, after a full group
           "Zg=",       // incomplete padding
           "Zg===",     // too much padding
           "=",         //
           "====",      //
           "Z===",      //
           "Zg==Zg==",  // padding in the middle
           "Zh",        // non-zero unused bits: a second spelling of "f"
           "Zm9",       //
           std::string_view("Zm\0v", 4),
       }) {
    EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
  }
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The "abc" digest above in base64url (as `openssl dgst -sha256 -binary | basenc --base64url`).
  EXPECT_EQ(sha256_b64url("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(RandomToken, LengthAndUniqueness) {
  EXPECT_EQ(random_token().size(), 43u);  // 32 bytes
  EXPECT_EQ(base64url_decode(random_token(16))->size(), 16u);
  EXPECT_EQ(random_token(0), "");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_token());
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

namespace {
const std::string kKey(32, 'k');
}

TEST(Sealer, RoundTrip) {
  Sealer s(kKey);
  for (std::string_view text :
       {std::string_view(""), std::string_view("x"), std::string_view("an upstream refresh token")}) {
    auto sealed = s.seal(text, "store-key");
    EXPECT_EQ(sealed.find_first_of("+/="), std::string::npos);  // base64url, storable anywhere
    EXPECT_EQ(base64url_decode(sealed)->size(), 12 + text.size() + 16);
    EXPECT_EQ(s.open(sealed, "store-key"), text);
  }
  EXPECT_EQ(s.open(s.seal("no aad")), "no aad");
  // A fresh nonce each time: the same plaintext never seals to the same text.
  EXPECT_NE(s.seal("same"), s.seal("same"));
}

TEST(Sealer, TamperedEveryByteRefused) {
  Sealer s(kKey);
  auto raw = *base64url_decode(s.seal("secret value", "aad"));
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto bad = raw;
    bad[i] ^= 0x01;  // nonce, ciphertext and tag alike
    EXPECT_FALSE(s.open(base64url_encode(bad), "aad").has_value()) << i;
  }
}

TEST(Sealer, WrongAadKeyTruncatedOrGarbageRefused) {
  Sealer s(kKey);
  auto sealed = s.seal("secret value", "tokens/abc");
  EXPECT_FALSE(s.open(sealed, "tokens/abd").has_value());
  EXPECT_FALSE(s.open(sealed).has_value());
  EXPECT_FALSE(Sealer(std::string(32, 'K')).open(sealed, "tokens/abc").has_value());
  auto raw = *base64url_decode(sealed);
  for (std::size_t n : {std::size_t{0}, std::size_t{11}, std::size_t{27}, raw.size() - 1}) {
    EXPECT_FALSE(s.open(base64url_encode(raw.substr(0, n)), "tokens/abc").has_value()) << n;
  }
  EXPECT_FALSE(s.open(base64url_encode(raw + "x"), "tokens/abc").has_value());
  EXPECT_FALSE(s.open("not base64!", "tokens/abc").has_value());
  EXPECT_FALSE(s.open("", "tokens/abc").has_value());
  // Sealed without aad, opened with one.
  EXPECT_FALSE(s.open(s.seal("v"), "x").has_value());
}

TEST(Sealer, KeyMustBe32Bytes) {
  EXPECT_EQ(code_of([] { Sealer s(std::string(31, 'k')); }), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of([] { Sealer s(std::string(33, 'k')); }), mk::Errc::invalid_argument);
  EXPECT_EQ(code_of([] { Sealer s(""); }), mk::Errc::invalid_argument);
}

TEST(Sealer, FromTextForms) {
  // Starts with the bytes that encode to "-_-_" / "+/+/", so the two alphabets differ.
  std::string key = "\xfb\xff\xbf" + std::string(29, 'k');
  std::string sealed = Sealer(key).seal("hello", "a");
  auto opens = [&](std::string_view text) { return Sealer::from_text(text).open(sealed, "a") == "hello"; };
  std::string h = hex(key);
  EXPECT_TRUE(opens(h));
  std::string upper = h;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(opens(upper));
  std::string url = base64url_encode(key);  // 43 characters
  EXPECT_TRUE(opens(url));
  EXPECT_TRUE(opens(url + "="));
  std::string std64 = url;
  for (auto& c : std64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  ASSERT_NE(std64, url);
  EXPECT_TRUE(opens(std64 + "="));  // `openssl rand -base64 32`
  EXPECT_TRUE(opens(std64));
  EXPECT_TRUE(opens(std64 + "=\n"));  // read from a file
  EXPECT_TRUE(opens("  " + h + "\r\n"));
}

TEST(Sealer, FromTextRefusesWithoutEchoingTheKey) {
  for (std::string text : {
           std::string("correct horse battery staple"), std::string(63, 'a'),  // one hex digit short
           std::string(63, 'a') + "g",                                         // not hex, and not base64 of 32 bytes
           base64url_encode(std::string(31, 'x')),                             // 31 bytes
           base64url_encode(std::string(33, 'x')),                             // 33 bytes
           std::string(""), "ab" + base64url_encode(std::string(32, 'x')),     // 32 bytes plus junk
       }) {
    try {
      Sealer::from_text(text);
      ADD_FAILURE() << "accepted " << text.size() << " characters";
    } catch (const mk::Error& e) {
      EXPECT_EQ(e.code(), mk::Errc::invalid_argument);
      std::string msg = e.what();
      EXPECT_NE(msg.find("64 hex digits"), std::string::npos) << msg;
      if (!text.empty()) {
        EXPECT_EQ(msg.find(text), std::string::npos) << msg;
      }
    }
  }
}
