#pragma once
// A secret given literally or as a file (--dex-client-secret-file, ...). A file is read at
// start and again on use when it has changed (Kubernetes swaps a mounted Secret's files
// behind a symlink), looked at no more than once per interval so a busy endpoint does not
// stat it on every request. An unreadable file keeps the last value (with a warning): a
// rotation caught half-way must not turn into an outage. Copies share one state.
#include <chrono>
#include <memory>
#include <string>

namespace mk::auth {

class Secret {
 public:
  using Clock = std::chrono::steady_clock;
  Secret() = default;
  Secret(std::string value);  // NOLINT: a literal secret converts implicitly
  Secret(const char* value) : Secret(std::string(value)) {}
  // Throws Errc::invalid_argument naming the file when it cannot be read now.
  static Secret from_file(std::string path, std::chrono::milliseconds interval = std::chrono::seconds(5));

  std::string get() const { return get(Clock::now()); }
  std::string get(Clock::time_point now) const;  // tests pass their own clock
  bool empty() const { return get().empty(); }
  bool from_file() const;

 private:
  struct State;
  std::shared_ptr<State> s_;
};

}  // namespace mk::auth
