// SPDY/3.1 framing without I/O: frame headers, header blocks, and the connection-wide zlib
// inflater fed several compressed blocks in a row (as SYN_REPLY/HEADERS frames arrive). The
// input is a sequence of [u16 length][bytes] chunks; each chunk goes through every decoder.
// Malformed input may only throw mk::Error.
#include "k8s/spdy.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace spdy = mk::k8s::spdy;

namespace {
void check_header_block(std::string_view block) {
  spdy::Headers h;
  try {
    h = spdy::decode_header_block(block);
  } catch (const mk::Error&) {
    return;
  }
  // What we decode must survive our own encoder: same entries back (names lowercased).
  auto again = spdy::decode_header_block(spdy::encode_header_block(h));
  if (again.size() != h.size()) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  spdy::Inflater inflater;
  bool inflater_ok = true;
  while (in.size() >= 2) {
    std::size_t n = (static_cast<std::uint8_t>(in[0]) << 8) | static_cast<std::uint8_t>(in[1]);
    in.remove_prefix(2);
    auto chunk = in.substr(0, n);
    in.remove_prefix(chunk.size());
    try {
      auto h = spdy::parse_frame_header(chunk.substr(0, spdy::kFrameHeaderSize));
      if (h.control && h.length > spdy::kMaxControlPayload) std::abort();
      if (!h.control && h.length > spdy::kMaxDataPayload) std::abort();
    } catch (const mk::Error&) {
    }
    try {
      (void)spdy::read_u32(chunk, chunk.size() > 4 ? chunk.size() - 4 : 0);
    } catch (const mk::Error&) {
    }
    check_header_block(chunk);
    // Once the stream is corrupt the session ends; a new inflater would start over.
    if (inflater_ok) {
      try {
        auto block = inflater.decompress(chunk);
        if (block.size() > spdy::kMaxHeaderBlock) std::abort();
        check_header_block(block);
      } catch (const mk::Error&) {
        inflater_ok = false;
      }
    }
  }
  return 0;
}
