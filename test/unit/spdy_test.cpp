#include "k8s/spdy.hpp"
#include "k8s/portforward_tunnel.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace spdy = mk::k8s::spdy;

namespace {
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}
}  // namespace

TEST(Spdy, DataFrameLayout) {
  auto f = spdy::data_frame(3, "hello", spdy::kFlagFin);
  EXPECT_EQ(f, bytes({0, 0, 0, 3, 1, 0, 0, 5}) + "hello");
  auto h = spdy::parse_frame_header(f);
  EXPECT_FALSE(h.control);
  EXPECT_EQ(h.stream_id, 3u);
  EXPECT_EQ(h.flags, spdy::kFlagFin);
  EXPECT_EQ(h.length, 5u);
}

TEST(Spdy, ControlFramesLayout) {
  EXPECT_EQ(spdy::window_update(3, 65536), bytes({0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 3, 0, 1, 0, 0}));
  EXPECT_EQ(spdy::ping(7), bytes({0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 7}));
  EXPECT_EQ(spdy::rst_stream(1, 3), bytes({0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 3}));
  EXPECT_EQ(spdy::goaway(5, 0), bytes({0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 0}));
  auto syn = spdy::syn_stream(1, "XY", spdy::kFlagFin);
  EXPECT_EQ(syn, bytes({0x80, 3, 0, 1, 1, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}) + "XY");
  auto h = spdy::parse_frame_header(syn);
  EXPECT_TRUE(h.control);
  EXPECT_EQ(h.type, spdy::kSynStream);
  EXPECT_EQ(h.flags, spdy::kFlagFin);
  EXPECT_EQ(h.length, 12u);
}

TEST(Spdy, BadFramesAreRejected) {
  // Control frame of version 2.
  EXPECT_THROW(spdy::parse_frame_header(bytes({0x80, 2, 0, 1, 0, 0, 0, 0})), mk::Error);
  // Data frame over the cap.
  EXPECT_THROW(spdy::parse_frame_header(bytes({0, 0, 0, 1, 0, 0x7f, 0xff, 0xff})), mk::Error);
  // Control frame over the cap.
  EXPECT_THROW(spdy::parse_frame_header(bytes({0x80, 3, 0, 4, 0, 0x10, 0, 0})), mk::Error);
  EXPECT_THROW(spdy::parse_frame_header(bytes({0, 0, 0})), mk::Error);
  // Header blocks whose lengths run past the end.
  EXPECT_THROW(spdy::decode_header_block(bytes({0, 0, 0, 1, 0, 0, 0, 9, 'a'})), mk::Error);
  EXPECT_THROW(spdy::decode_header_block(bytes({0xff, 0xff, 0xff, 0xff})), mk::Error);
}

TEST(Spdy, HeaderBlockLowercasesAndJoinsValues) {
  auto block = spdy::encode_header_block({{"StreamType", "data"}, {"port", "8080"}, {"port", "9090"}});
  auto h = spdy::decode_header_block(block);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"streamtype", "data"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"port", "8080"}));
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>{"port", "9090"}));
  // The wire form: count 2, then "port" joined with a NUL.
  EXPECT_NE(block.find(std::string("8080\0"
                                   "9090",
                                   9)),
            std::string::npos);
}

TEST(Spdy, DictionaryIsTheSpdy3One) {
  auto d = spdy::dictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(d.substr(0, 11), bytes({0, 0, 0, 7}) + "options");
  // Its Adler-32 is what a SPDY/3 zlib stream announces as the dictionary id.
  auto id = adler32(1, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size()));
  EXPECT_EQ(id, 0xe3c6a7c2u);
}

TEST(Spdy, CompressionRoundTripAcrossFrames) {
  spdy::Deflater def;
  spdy::Inflater inf;  // fresh: learns the dictionary from the first block
  std::vector<spdy::Headers> blocks = {
      {{"streamtype", "error"}, {"port", "8080"}, {"requestid", "0"}},
      {{"streamtype", "data"}, {"port", "8080"}, {"requestid", "0"}},
      {{"streamtype", "data"}, {"port", "8080"}, {"requestid", "1"}},
  };
  std::size_t first = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto plain = spdy::encode_header_block(blocks[i]);
    auto z = def.compress(plain);
    if (i == 0) first = z.size();
    // Sync-flushed: every block ends with the empty stored block 00 00 ff ff.
    ASSERT_GE(z.size(), 4u);
    EXPECT_EQ(z.substr(z.size() - 4), bytes({0, 0, 0xff, 0xff}));
    EXPECT_EQ(inf.decompress(z), plain);
    EXPECT_EQ(spdy::decode_header_block(inf.decompress(def.compress(plain))), blocks[i]);
    // Later blocks reuse the shared context, so they are smaller than the first.
    if (i > 0) EXPECT_LT(z.size(), first);
  }
}

TEST(Spdy, InflaterRejectsGarbage) {
  spdy::Inflater inf;
  EXPECT_THROW(inf.decompress("this is not zlib"), mk::Error);
}

TEST(Spdy, UpgradeRefusalNeedsAnUnreasonedStatus) {
  using mk::Errc;
  // kwok/kubelet answering an upgrade it cannot do: a bare 403 with no Status.
  EXPECT_TRUE(mk::k8s::upgrade_refused(mk::Error(Errc::forbidden, "HTTP 403", {{"status", 403}})));
  EXPECT_TRUE(mk::k8s::upgrade_refused(mk::Error(Errc::internal, "HTTP 200", {{"status", 200}})));
  // The API server's own answers (RBAC, missing pod) carry a reason and are final.
  EXPECT_FALSE(
      mk::k8s::upgrade_refused(mk::Error(Errc::forbidden, "forbidden", {{"status", 403}, {"reason", "Forbidden"}})));
  EXPECT_FALSE(
      mk::k8s::upgrade_refused(mk::Error(Errc::not_found, "not found", {{"status", 404}, {"reason", "NotFound"}})));
  EXPECT_FALSE(mk::k8s::upgrade_refused(mk::Error(Errc::unavailable, "cannot connect")));
  EXPECT_FALSE(mk::k8s::upgrade_refused(mk::Error(Errc::unauthorized, "HTTP 401", {{"status", 401}})));
  // Upgraded, but to another subprotocol than the one offered: try the next protocol.
  EXPECT_TRUE(mk::k8s::upgrade_refused(mk::Error(Errc::unavailable, "other protocol", {{"unsupportedProtocol", ""}})));
}
