#pragma once
// Small text helpers shared by every layer.
#include <cstddef>
#include <string_view>

namespace mk {

// The longest prefix of `s` of at most `max` bytes that does not end inside a UTF-8 code point:
// a cut through one would make the text invalid (a JSON or protobuf reader then refuses it whole).
inline std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // a continuation byte
  return s.substr(0, cut);
}

}  // namespace mk
