#pragma once
// Line handling for pod logs, without I/O: splitting a byte stream into lines across chunk
// boundaries, the line filter (substring and/or RE2 regex), and LogScanner, which searches a
// whole log within a byte and a time budget and keeps only the last N matches.
#include <chrono>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace mk::tools {

inline constexpr std::size_t kMaxFilterPattern = 1024;     // bytes of `filter` / `regex`
inline constexpr std::int64_t kRegexMaxMem = 8 << 20;      // RE2's compiled program + DFA cache
inline constexpr std::size_t kMaxMatchedLine = 64 * 1024;  // a longer line is matched by its start

class LineFilter {
 public:
  // Throws Errc::invalid_argument for a pattern that is too long or does not compile. The
  // regex is RE2 (linear time in the input: no backtracking, so no pattern can stall us).
  LineFilter(std::string substring, std::string regex);
  ~LineFilter();
  LineFilter(LineFilter&&) noexcept;
  bool active() const { return !substring_.empty() || regex_ != nullptr; }
  // Safe to call from several threads at once.
  bool matches(std::string_view line) const;

 private:
  std::string substring_;
  std::unique_ptr<re2::RE2> regex_;
};

// With `timestamps`, the API server prefixes each line with an RFC 3339 time and a space: the
// filter applies to the message after it (so `^ERROR` still works).
std::string_view log_message(std::string_view line, bool timestamps);

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

enum class ScanStop { none, byte_budget, time_budget };

struct ScanLimits {
  std::size_t max_bytes = 64u << 20;  // byte budget: bytes of log read before the scan stops
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();  // time budget
  std::size_t keep_lines = 100;            // the last N matches are kept
  std::size_t keep_bytes = 256 * 1024;     // ... and no more bytes of them than this (oldest dropped)
  std::size_t max_line = kMaxMatchedLine;  // a longer line is matched and kept by its first bytes
  bool timestamps = false;                 // see log_message()
};

// Feed it the log as it arrives; memory stays within keep_bytes + max_line whatever the log.
// Not thread-safe: one owner at a time (the caller may hand it to a worker thread per chunk).
class LogScanner {
 public:
  LogScanner(std::shared_ptr<const LineFilter> filter, ScanLimits limits);

  // Scans `chunk`. Returns false once a budget has ended the scan; later chunks are ignored.
  // A line cut by the byte budget is not scanned.
  bool feed(std::string_view chunk);
  // End of the log: a last line without '\n' is scanned.
  void finish();
  // Records that something outside (a stalled stream, say) ended the scan, unless a budget
  // already did.
  void stop(ScanStop why);

  ScanStop stopped() const { return stop_; }
  std::size_t scanned_bytes() const { return scanned_bytes_; }
  std::size_t scanned_lines() const { return scanned_lines_; }
  std::size_t matched_lines() const { return matched_; }
  const std::deque<std::string>& kept() const { return kept_; }
  // keep_bytes dropped some of the last keep_lines matches.
  bool kept_capped() const;
  // The kept matches, each followed by '\n'.
  std::string text() const;

 private:
  void line_done(std::string_view line, std::size_t full_size);
  bool out_of_time();

  std::shared_ptr<const LineFilter> filter_;
  ScanLimits limits_;
  std::string pending_;           // start of a line not yet ended (at most max_line bytes)
  std::size_t pending_size_ = 0;  // its full size so far
  bool has_pending_ = false;
  std::size_t scanned_bytes_ = 0, scanned_lines_ = 0, matched_ = 0;
  std::deque<std::string> kept_;
  std::size_t kept_bytes_ = 0;
  unsigned clock_tick_ = 0;
  ScanStop stop_ = ScanStop::none;
};

const char* to_string(ScanStop s);  // "byteBudget", "timeBudget", ""

}  // namespace mk::tools
