#include "tools/pods/log_filter.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

namespace mk::tools {

LineFilter::LineFilter(std::string substring, std::string regex) : substring_(std::move(substring)) {
  if (regex.empty()) return;
  try {
    regex_.emplace(regex, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    fail(Errc::invalid_argument, fmt::format("regex \"{}\" is invalid: {}", regex, e.what()));
  }
}

bool LineFilter::matches(std::string_view line) const {
  if (!substring_.empty() && line.find(substring_) == std::string_view::npos) return false;
  if (regex_) {
    // Bound the work per line: std::regex backtracks and recurses per character.
    constexpr std::size_t kMaxRegexInput = 16 * 1024;
    auto s = line.substr(0, kMaxRegexInput);
    if (!std::regex_search(s.begin(), s.end(), *regex_)) return false;
  }
  return true;
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

}  // namespace mk::tools
