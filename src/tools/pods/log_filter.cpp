#include "tools/pods/log_filter.hpp"

#include "util/error.hpp"

#include <fmt/core.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>

namespace mk::tools {

LineFilter::LineFilter(std::string substring, std::string regex) : substring_(std::move(substring)) {
  if (substring_.size() > kMaxFilterPattern)
    fail(Errc::invalid_argument,
         fmt::format("filter is {} bytes; the limit is {}", substring_.size(), kMaxFilterPattern));
  if (regex.empty()) return;
  if (regex.size() > kMaxFilterPattern)
    fail(Errc::invalid_argument, fmt::format("regex is {} bytes; the limit is {}", regex.size(), kMaxFilterPattern));
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(kRegexMaxMem);
  auto re = std::make_unique<RE2>(regex, opts);
  if (!re->ok())
    fail(Errc::invalid_argument,
         fmt::format("regex \"{}\" is invalid: {} (RE2 syntax: no backreferences or lookaround)", regex, re->error()));
  regex_ = std::move(re);
}

LineFilter::~LineFilter() = default;
LineFilter::LineFilter(LineFilter&&) noexcept = default;

bool LineFilter::matches(std::string_view line) const {
  line = line.substr(0, kMaxMatchedLine);
  if (!substring_.empty() && line.find(substring_) == std::string_view::npos) return false;
  if (regex_ && !RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), *regex_)) return false;
  return true;
}

std::string_view log_message(std::string_view line, bool timestamps) {
  if (!timestamps || line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) return line;
  auto sp = line.substr(0, 64).find(' ');
  return sp == std::string_view::npos ? line : line.substr(sp + 1);
}

std::vector<std::string> LineSplitter::feed(std::string_view chunk, std::size_t max_line) {
  std::vector<std::string> out;
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      pending_.append(chunk);
      if (pending_.size() >= max_line) out.push_back(std::move(pending_)), pending_.clear();
      break;
    }
    pending_.append(chunk.substr(0, nl));
    out.push_back(std::move(pending_));
    pending_.clear();
    chunk.remove_prefix(nl + 1);
  }
  return out;
}

std::optional<std::string> LineSplitter::finish() {
  if (pending_.empty()) return std::nullopt;
  std::string s = std::move(pending_);
  pending_.clear();
  return s;
}

LogScanner::LogScanner(std::shared_ptr<const LineFilter> filter, ScanLimits limits)
    : filter_(std::move(filter)), limits_(limits) {}

bool LogScanner::out_of_time() {
  // The clock is read every 64 lines: cheap next to matching, and fine-grained enough.
  if (++clock_tick_ % 64 != 0) return false;
  return std::chrono::steady_clock::now() >= limits_.deadline;
}

bool LogScanner::feed(std::string_view chunk) {
  if (stop_ != ScanStop::none) return false;
  if (std::chrono::steady_clock::now() >= limits_.deadline) {
    stop_ = ScanStop::time_budget;
    return false;
  }
  bool cut = false;
  if (auto room = limits_.max_bytes - scanned_bytes_; chunk.size() > room) {
    chunk = chunk.substr(0, room);
    cut = true;
  }
  const auto max_line = limits_.max_line;
  auto append_pending = [&](std::string_view s) {
    if (pending_.size() < max_line) pending_.append(s.substr(0, max_line - pending_.size()));
    pending_size_ += s.size();
    has_pending_ = true;
  };
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      append_pending(chunk);
      scanned_bytes_ += chunk.size();
      break;
    }
    auto piece = chunk.substr(0, nl);
    scanned_bytes_ += nl + 1;
    chunk.remove_prefix(nl + 1);
    if (has_pending_) {
      append_pending(piece);
      line_done(pending_, pending_size_);
      pending_.clear();
      pending_size_ = 0;
      has_pending_ = false;
    } else {
      line_done(piece.substr(0, max_line), piece.size());
    }
    if (out_of_time()) {
      stop_ = ScanStop::time_budget;
      return false;
    }
  }
  if (cut) {
    // The log goes on past the budget; the line it cut is not scanned.
    stop_ = ScanStop::byte_budget;
    pending_.clear();
    has_pending_ = false;
    return false;
  }
  return true;
}

void LogScanner::finish() {
  if (stop_ != ScanStop::none || !has_pending_) return;
  line_done(pending_, pending_size_);
  pending_.clear();
  has_pending_ = false;
}

void LogScanner::stop(ScanStop why) {
  if (stop_ == ScanStop::none) stop_ = why;
}

void LogScanner::line_done(std::string_view line, std::size_t full_size) {
  ++scanned_lines_;
  if (filter_ && filter_->active() && !filter_->matches(log_message(line, limits_.timestamps))) return;
  ++matched_;
  if (limits_.keep_lines == 0) return;
  std::string kept(line);
  if (full_size > line.size()) kept += fmt::format(" [... {} more bytes]", full_size - line.size());
  kept_bytes_ += kept.size() + 1;
  kept_.push_back(std::move(kept));
  while (!kept_.empty() && (kept_.size() > limits_.keep_lines || kept_bytes_ > limits_.keep_bytes)) {
    kept_bytes_ -= kept_.front().size() + 1;
    kept_.pop_front();
  }
}

bool LogScanner::kept_capped() const { return kept_.size() < std::min(matched_, limits_.keep_lines); }

std::string LogScanner::text() const {
  std::string out;
  out.reserve(kept_bytes_);
  for (auto& l : kept_) out.append(l).push_back('\n');
  return out;
}

const char* to_string(ScanStop s) {
  switch (s) {
    case ScanStop::byte_budget: return "byteBudget";
    case ScanStop::time_budget: return "timeBudget";
    case ScanStop::none: break;
  }
  return "";
}

}  // namespace mk::tools
