#pragma once
// Line handling for pod logs: splitting a byte stream into lines across chunk boundaries, and
// the server-side line filter (substring and/or ECMAScript regex) applied before results go out.
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace mk::tools {

class LineFilter {
 public:
  // Throws Errc::invalid_argument for a regex that does not compile.
  LineFilter(std::string substring, std::string regex);
  bool active() const { return !substring_.empty() || regex_.has_value(); }
  bool matches(std::string_view line) const;

 private:
  std::string substring_;
  std::optional<std::regex> regex_;
};

class LineSplitter {
 public:
  // Complete lines in `chunk` (without '\n'); a partial last line waits for the next chunk.
  // A partial line longer than `max_line` is emitted as is, so memory stays bounded.
  std::vector<std::string> feed(std::string_view chunk, std::size_t max_line = 1u << 20);
  // The remaining partial line, if any (end of stream).
  std::optional<std::string> finish();

 private:
  std::string pending_;
};

}  // namespace mk::tools
