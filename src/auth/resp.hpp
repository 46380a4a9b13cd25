#pragma once
// RESP2, the Redis/Valkey wire protocol, without I/O: commands are encoded as arrays of bulk
// strings, replies are parsed from a buffer that may hold only part of one. Keeping this pure
// lets every malformed, truncated or oversized byte sequence be unit-tested; the connection
// code (valkey_store.cpp) only moves bytes.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mk::auth::resp {

struct Value {
  enum class Type { simple, error, integer, bulk, null, array };
  Type type = Type::null;
  std::string str;  // simple, error, bulk
  std::int64_t integer = 0;
  std::vector<Value> elements;  // array

  bool is_null() const { return type == Type::null; }
  bool is_error() const { return type == Type::error; }
};

// Appends one command (`*N` array of `$len` bulk strings; binary-safe).
void encode(std::string& out, std::span<const std::string_view> args);
void encode(std::string& out, std::initializer_list<std::string_view> args);

struct Limits {
  // One reply may not exceed this many bytes on the wire: a server (or something pretending to
  // be one) must not make us buffer without bound.
  std::size_t max_bytes = 4u << 20;
  // Our commands get flat or one-level replies (EXEC, EVAL); deep nesting is hostile.
  std::size_t max_depth = 8;
};

enum class Status {
  complete,    // `value` holds the reply, `consumed` bytes of the buffer were used
  incomplete,  // read more; `need`, when non-zero, is the buffer size known to be required
  malformed,   // not RESP2: `error` says why; the connection cannot be trusted any further
  too_large,   // the reply would exceed Limits::max_bytes
};

struct Parsed {
  Status status = Status::incomplete;
  Value value;
  std::size_t consumed = 0;
  std::size_t need = 0;
  std::string error;
};

// Parses the first reply in `buf` (which starts at a reply boundary).
Parsed parse(std::string_view buf, const Limits& limits);

}  // namespace mk::auth::resp
