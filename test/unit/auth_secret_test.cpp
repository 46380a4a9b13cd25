// Secrets given as files: re-read on use when the file changed, no more often than the
// interval; an unreadable file keeps the last value. The encryption key's rotation keeps
// what was sealed before it readable.
#include "auth/crypto.hpp"
#include "auth/secret.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace mk::auth;
using namespace std::chrono_literals;

namespace {
// Replaces the file the way Kubernetes updates a mounted Secret: a new file renamed over it.
void replace(const std::string& path, const std::string& content) {
  auto tmp = path + ".new";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content;
  std::filesystem::rename(tmp, path);
}
}  // namespace

TEST(Secret, LiteralNeverChanges) {
  Secret s("abc");
  EXPECT_EQ(s.get(), "abc");
  EXPECT_FALSE(s.from_file());
  EXPECT_TRUE(Secret().empty());
}

TEST(Secret, FileIsReadAgainAfterTheIntervalWhenChanged) {
  testutil::TempDir dir;
  auto path = dir.write("token", "first\n");
  auto s = Secret::from_file(path, 5s);
  auto t0 = Secret::Clock::now();
  EXPECT_EQ(s.get(t0), "first");  // trailing newline dropped
  replace(path, "second\n");
  EXPECT_EQ(s.get(t0 + 1s), "first") << "not looked at again within the interval";
  EXPECT_EQ(s.get(t0 + 6s), "second");
  auto copy = s;  // copies share the state
  replace(path, "third");
  EXPECT_EQ(copy.get(t0 + 12s), "third");
  EXPECT_EQ(s.get(t0 + 12s), "third");
}

TEST(Secret, UnreadableFileKeepsTheLastValue) {
  testutil::TempDir dir;
  auto path = dir.write("token", "kept");
  auto s = Secret::from_file(path, 0ms);
  std::filesystem::remove(path);
  EXPECT_EQ(s.get(), "kept");
  replace(path, "back");
  EXPECT_EQ(s.get(), "back");
  replace(path, std::string(100 * 1024, 'x'));  // not a secret: the wrong file
  EXPECT_EQ(s.get(), "back");
  replace(path, "\n");  // a rotation caught half-written: never an empty secret
  EXPECT_EQ(s.get(), "back");
  replace(path, "");
  EXPECT_EQ(s.get(), "back");
  replace(path, "rotated");
  EXPECT_EQ(s.get(), "rotated");
}

TEST(Secret, MissingFileAtStartNamesIt) {
  try {
    Secret::from_file("/nonexistent/secret");
    FAIL();
  } catch (const mk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/secret"), std::string::npos);
  }
}

TEST(Secret, EncryptionKeyRotationKeepsOldSealsReadable) {
  testutil::TempDir dir;
  auto path = dir.write("key", std::string(64, 'a') + "\n");
  auto sealer = Sealer::from_secret(Secret::from_file(path, 0ms));
  auto old_sealed = sealer.seal("upstream token", "aad");
  auto old_mac = sealer.derive("label");
  replace(path, std::string(64, 'b'));
  auto new_sealed = sealer.seal("upstream token", "aad");
  EXPECT_EQ(sealer.open(old_sealed, "aad"), "upstream token");  // sealed under the previous key
  EXPECT_EQ(sealer.open(new_sealed, "aad"), "upstream token");
  EXPECT_NE(sealer.derive("label"), old_mac);  // derived keys follow the new key
  // Only the new key seals: a sealer with just the old key cannot open the new seal.
  EXPECT_FALSE(Sealer::from_text(std::string(64, 'a')).open(new_sealed, "aad"));
  EXPECT_TRUE(Sealer::from_text(std::string(64, 'b')).open(new_sealed, "aad"));
  // A broken key in the file is ignored; the current key stays.
  replace(path, "not a key");
  EXPECT_EQ(sealer.open(new_sealed, "aad"), "upstream token");
  EXPECT_TRUE(Sealer::from_text(std::string(64, 'b')).open(sealer.seal("x"), {}));
  // Two rotations later the oldest key is gone (at most two previous keys are kept).
  replace(path, std::string(64, 'c'));
  sealer.seal("x");
  replace(path, std::string(64, 'd'));
  sealer.seal("x");
  EXPECT_FALSE(sealer.open(old_sealed, "aad"));
  EXPECT_EQ(sealer.open(new_sealed, "aad"), "upstream token");
}
