#include "auth/resp.hpp"

#include <fmt/core.h>

#include <charconv>

namespace mk::auth::resp {

void encode(std::string& out, std::span<const std::string_view> args) {
  out += fmt::format("*{}\r\n", args.size());
  for (auto a : args) {
    out += fmt::format("${}\r\n", a.size());
    out.append(a);
    out += "\r\n";
  }
}

void encode(std::string& out, std::initializer_list<std::string_view> args) {
  encode(out, std::span<const std::string_view>(args.begin(), args.size()));
}

namespace {

class Parser {
 public:
  Parser(std::string_view buf, const Limits& lim, Parsed& out) : buf_(buf), lim_(lim), out_(out) {}

  Status value(Value& v, std::size_t depth) {
    std::string_view line;
    if (auto s = read_line(line); s != Status::complete) return s;
    if (line.empty()) return malformed("empty reply line");
    char type = line[0];
    line.remove_prefix(1);
    switch (type) {
      case '+':
        v.type = Value::Type::simple;
        v.str = line;
        return Status::complete;
      case '-':
        v.type = Value::Type::error;
        v.str = line;
        return Status::complete;
      case ':':
        v.type = Value::Type::integer;
        if (!to_int(line, v.integer)) return malformed("bad integer reply");
        return Status::complete;
      case '$': return bulk(v, line);
      case '*': return array(v, line, depth);
      default: return malformed(fmt::format("unknown reply type byte 0x{:02x}", static_cast<unsigned char>(type)));
    }
  }
  std::size_t pos() const { return pos_; }

 private:
  Status bulk(Value& v, std::string_view len_text) {
    std::int64_t len = 0;
    if (!to_int(len_text, len) || len < -1) return malformed("bad bulk string length");
    if (len == -1) {
      v.type = Value::Type::null;
      return Status::complete;
    }
    auto n = static_cast<std::uint64_t>(len);
    if (n > lim_.max_bytes || pos_ + n + 2 > lim_.max_bytes) return Status::too_large;
    if (buf_.size() < pos_ + n + 2) {
      out_.need = pos_ + n + 2;
      return Status::incomplete;
    }
    if (buf_.substr(pos_ + n, 2) != "\r\n") return malformed("bulk string not terminated by CRLF");
    v.type = Value::Type::bulk;
    v.str = buf_.substr(pos_, n);
    pos_ += n + 2;
    return Status::complete;
  }

  Status array(Value& v, std::string_view count_text, std::size_t depth) {
    std::int64_t count = 0;
    if (!to_int(count_text, count) || count < -1) return malformed("bad array length");
    if (count == -1) {
      v.type = Value::Type::null;
      return Status::complete;
    }
    if (depth >= lim_.max_depth) return malformed(fmt::format("arrays nested deeper than {}", lim_.max_depth));
    // Every element takes at least 3 bytes ("+\r\n"): a count that cannot fit is refused before
    // anything is allocated for it.
    auto n = static_cast<std::uint64_t>(count);
    if (n > (lim_.max_bytes - pos_) / 3) return Status::too_large;
    v.type = Value::Type::array;
    v.elements.resize(n);
    for (auto& e : v.elements) {
      if (auto s = value(e, depth + 1); s != Status::complete) return s;
    }
    return Status::complete;
  }

  Status read_line(std::string_view& line) {
    auto cr = buf_.find('\r', pos_);
    if (cr == std::string_view::npos) {
      if (buf_.size() >= lim_.max_bytes) return Status::too_large;
      return Status::incomplete;
    }
    if (cr + 1 >= lim_.max_bytes) return Status::too_large;
    if (cr + 1 == buf_.size()) return Status::incomplete;
    if (buf_[cr + 1] != '\n') return malformed("CR not followed by LF");
    line = buf_.substr(pos_, cr - pos_);
    if (line.find('\n') != std::string_view::npos) return malformed("LF inside a reply line");
    pos_ = cr + 2;
    return Status::complete;
  }

  static bool to_int(std::string_view s, std::int64_t& v) {
    if (s.empty() || s.front() == '+') return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
  }

  Status malformed(std::string why) {
    out_.error = std::move(why);
    return Status::malformed;
  }

  std::string_view buf_;
  const Limits& lim_;
  Parsed& out_;
  std::size_t pos_ = 0;
};

}  // namespace

Parsed parse(std::string_view buf, const Limits& limits) {
  Parsed out;
  Parser p(buf, limits, out);
  out.status = p.value(out.value, 0);
  if (out.status == Status::complete) {
    out.consumed = p.pos();
    out.need = 0;
  } else {
    out.value = Value{};
  }
  return out;
}

}  // namespace mk::auth::resp
