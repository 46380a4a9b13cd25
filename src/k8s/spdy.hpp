#pragma once
// SPDY/3.1 framing (only what Kubernetes streaming uses) and the zlib header-block compression
// with the SPDY/3 dictionary. No I/O here: encoders return bytes, decoders take bytes.
// Malformed input throws mk::Error(Errc::unavailable, "SPDY: ...").
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mk::k8s::spdy {

enum FrameType : std::uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

inline constexpr std::uint8_t kFlagFin = 0x01;
inline constexpr std::size_t kFrameHeaderSize = 8;
inline constexpr std::uint32_t kDefaultWindow = 64 * 1024;
// Caps for what we accept: the Go peers send data frames of at most 32 KiB and tiny control frames.
inline constexpr std::uint32_t kMaxDataPayload = 1u << 20;
inline constexpr std::uint32_t kMaxControlPayload = 64 * 1024;
inline constexpr std::size_t kMaxHeaderBlock = 64 * 1024;  // decompressed

using Headers = std::vector<std::pair<std::string, std::string>>;

struct FrameHeader {
  bool control = false;
  std::uint16_t type = 0;       // control frames
  std::uint32_t stream_id = 0;  // data frames
  std::uint8_t flags = 0;
  std::uint32_t length = 0;  // payload bytes after the 8-byte header
};

// Parses the first 8 bytes of a frame; rejects a control frame of another version and payloads
// over the caps above.
FrameHeader parse_frame_header(std::string_view bytes);

std::string data_frame(std::uint32_t stream_id, std::string_view data, std::uint8_t flags = 0);
std::string control_frame(std::uint16_t type, std::uint8_t flags, std::string_view payload);
// `header_block` is already compressed (Deflater).
std::string syn_stream(std::uint32_t stream_id, std::string_view header_block, std::uint8_t flags = 0);
std::string rst_stream(std::uint32_t stream_id, std::uint32_t status);
std::string window_update(std::uint32_t stream_id, std::uint32_t delta);
std::string ping(std::uint32_t id);
std::string goaway(std::uint32_t last_good_stream_id, std::uint32_t status);

std::uint32_t read_u32(std::string_view p, std::size_t at);  // big-endian; throws when short

// Uncompressed name/value block: count, then (length, name, length, value) each; names are
// lowercased, several values of one name are NUL-separated.
std::string encode_header_block(const Headers& h);
Headers decode_header_block(std::string_view block);

// One compression context per direction for the whole connection: the peer's inflater keeps
// state across frames, so every block must come from the same Deflater, in order.
class Deflater {
 public:
  Deflater();
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  std::string compress(std::string_view block);  // ends with a sync flush

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Inflater {
 public:
  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  // Decompresses one frame's header block (at most kMaxHeaderBlock bytes out).
  std::string decompress(std::string_view compressed);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The SPDY/3 zlib dictionary (a protocol constant).
std::string_view dictionary();

}  // namespace mk::k8s::spdy
