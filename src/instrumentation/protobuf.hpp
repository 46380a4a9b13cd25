#pragma once
// The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), only what the
// OTLP/HTTP binary encoding needs to write. Generated code would need protoc at build time and
// the upstream .proto files in the tree; the OTLP messages we send are few and stable, so they
// are written field by field (trace_export.cpp, metrics_export.cpp) with this writer.
#include "util/text.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mk::proto {

enum class Wire : std::uint8_t { varint = 0, i64 = 1, len = 2, i32 = 5 };

// Appends fields to `out`. A nested message is begin()...end(): its length is not known until
// its fields are written, so begin() leaves one byte for it and end() widens that only for a
// message of 128 bytes or more (most attributes are smaller, so most nested messages move
// nothing).
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void varint(std::uint64_t v) {
    char buf[10];
    std::size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }
  void tag(std::uint32_t field, Wire w) { varint(std::uint64_t{field} << 3 | static_cast<std::uint8_t>(w)); }

  void uint_field(std::uint32_t field, std::uint64_t v) {
    tag(field, Wire::varint);
    varint(v);
  }
  // int64 and enums: two's complement as a varint (a negative value takes ten bytes).
  void int_field(std::uint32_t field, std::int64_t v) { uint_field(field, static_cast<std::uint64_t>(v)); }
  void bool_field(std::uint32_t field, bool v) { uint_field(field, v ? 1 : 0); }
  void fixed64_field(std::uint32_t field, std::uint64_t v) {
    tag(field, Wire::i64);
    fixed64(v);
  }
  void double_field(std::uint32_t field, double v) { fixed64_field(field, std::bit_cast<std::uint64_t>(v)); }
  void fixed32_field(std::uint32_t field, std::uint32_t v) {
    tag(field, Wire::i32);
    char b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, 4);
  }
  void bytes_field(std::uint32_t field, const void* data, std::size_t n) {
    tag(field, Wire::len);
    varint(n);
    out_.append(static_cast<const char*>(data), n);
  }
  // A proto3 `string` must be UTF-8 (a Go collector refuses the whole request otherwise): text
  // from callers, API servers and runtimes can be ill-formed, so each ill-formed byte becomes
  // U+FFFD, as in the JSON encoding.
  void string_field(std::uint32_t field, std::string_view v) {
    std::size_t bad = first_ill_formed(v);
    if (bad == v.size()) return bytes_field(field, v.data(), v.size());
    auto at = begin(field);
    out_.append(v.data(), bad);
    for (std::size_t i = bad; i < v.size(); ++i) {
      auto u = static_cast<unsigned char>(v[i]);
      if (u < 0x80) {
        out_ += v[i];
      } else if (auto n = utf8_sequence_length(v, i)) {
        out_.append(v.data() + i, n);
        i += n - 1;
      } else {
        out_ += "\xef\xbf\xbd";
      }
    }
    end(at);
  }
  // A packed `repeated fixed64` / `repeated double` of n values, each written by fixed64().
  void begin_packed64(std::uint32_t field, std::size_t n) {
    tag(field, Wire::len);
    varint(8 * n);
  }
  void fixed64(std::uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, 8);
  }

  // A nested message: begin() returns where its length goes, end() writes it.
  std::size_t begin(std::uint32_t field) {
    tag(field, Wire::len);
    out_ += '\0';
    return out_.size() - 1;
  }
  void end(std::size_t at) {
    std::size_t n = out_.size() - at - 1;
    if (n < 0x80) {
      out_[at] = static_cast<char>(n);
      return;
    }
    char buf[10] = {};
    std::size_t k = 0;
    for (auto v = static_cast<std::uint64_t>(n); v; v >>= 7)
      buf[k++] = static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    out_.insert(at + 1, k - 1, '\0');
    std::memcpy(out_.data() + at, buf, k);
  }

 private:
  static std::size_t first_ill_formed(std::string_view v) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (static_cast<unsigned char>(v[i]) < 0x80) continue;
      auto n = utf8_sequence_length(v, i);
      if (!n) return i;
      i += n - 1;
    }
    return v.size();
  }
  std::string& out_;
};

// Reads fields one after another: the collector's answer (a partial success), and tests.
// Malformed input (a cut varint, a length past the end, a group or unknown wire type) ends the
// walk with error() set, never a read out of bounds.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  struct Field {
    std::uint32_t number = 0;
    Wire wire = Wire::varint;
    std::uint64_t value = 0;  // varint, i64 and i32 fields
    std::string_view bytes;   // len fields
  };
  // The next field; false at the end of the input or on malformed input.
  bool next(Field& f) {
    if (in_.empty() || error_) return false;
    std::uint64_t key = 0;
    if (!read_varint(key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) return fail();
    f.number = static_cast<std::uint32_t>(key >> 3);
    f.bytes = {};
    switch (key & 7) {
      case 0: f.wire = Wire::varint; return read_varint(f.value) || fail();
      case 1: f.wire = Wire::i64; return read_fixed(8, f.value) || fail();
      case 5: f.wire = Wire::i32; return read_fixed(4, f.value) || fail();
      case 2: {
        f.wire = Wire::len;
        std::uint64_t n = 0;
        if (!read_varint(n) || n > in_.size()) return fail();
        f.bytes = in_.substr(0, n);
        in_.remove_prefix(n);
        return true;
      }
      default: return fail();
    }
  }
  bool error() const { return error_; }

 private:
  bool fail() {
    error_ = true;
    return false;
  }
  bool read_varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && !in_.empty(); shift += 7) {
      auto b = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool read_fixed(std::size_t n, std::uint64_t& v) {
    if (in_.size() < n) return false;
    v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(in_[i])} << (8 * i);
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
  bool error_ = false;
};

}  // namespace mk::proto
