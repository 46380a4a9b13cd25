#pragma once
// Minimal leveled logger. Writes one line per record to stderr (stdout belongs to the
// stdio transport). Sinks can be added so MCP sessions receive notifications/message.
#include <fmt/core.h>

#include <functional>
#include <string>
#include <string_view>

namespace mk::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

void set_level(Level l);
Level level();
bool enabled(Level l);
void set_json(bool json);
void write(Level l, std::string_view msg);

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::warning)) write(Level::warning, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace mk::log
