#include "auth/secret.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>

#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

namespace mk::auth {

namespace {
// Secrets are tokens and keys; a larger file is a mistake (the wrong path), not a secret.
constexpr std::streamsize kMaxSecretBytes = 64 * 1024;

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  long mtime_s = 0, mtime_ns = 0;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> identify(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino, st.st_size, static_cast<long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec};
}

// Whole content, trailing newlines dropped; nullopt when unreadable or too large.
std::optional<std::string> read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string out(static_cast<std::size_t>(kMaxSecretBytes) + 1, '\0');
  in.read(out.data(), kMaxSecretBytes + 1);
  if (in.bad() || in.gcount() > kMaxSecretBytes) return std::nullopt;
  out.resize(static_cast<std::size_t>(in.gcount()));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}
}  // namespace

struct Secret::State {
  std::string path;  // "" for a literal
  std::chrono::milliseconds interval{0};
  std::mutex mu;  // one io thread in the server; tests and helpers may differ
  std::string value;
  FileId id;
  Clock::time_point checked;
};

Secret::Secret(std::string value) : s_(std::make_shared<State>()) { s_->value = std::move(value); }

Secret Secret::from_file(std::string path, std::chrono::milliseconds interval) {
  auto id = identify(path);
  auto v = read(path);
  if (!id || !v) fail(Errc::invalid_argument, fmt::format("cannot read {}", path));
  Secret s;
  s.s_ = std::make_shared<State>();
  s.s_->path = std::move(path);
  s.s_->interval = interval;
  s.s_->value = std::move(*v);
  s.s_->id = *id;
  s.s_->checked = Clock::now();
  return s;
}

bool Secret::from_file() const { return s_ && !s_->path.empty(); }

std::string Secret::get(Clock::time_point now) const {
  if (!s_) return {};
  std::lock_guard lock(s_->mu);
  if (s_->path.empty() || now - s_->checked < s_->interval) return s_->value;
  s_->checked = now;
  auto id = identify(s_->path);
  if (id && *id == s_->id) return s_->value;
  auto v = id ? read(s_->path) : std::nullopt;
  // An empty file is a rotation caught half-written (or a mistake): never a secret.
  if (!v || v->empty()) {
    log::warn("secret file {} cannot be read or is empty; the last value stays in use", s_->path);
    return s_->value;
  }
  s_->id = *id;
  if (*v != s_->value) log::info("secret file {} changed; the new value is in use", s_->path);
  s_->value = std::move(*v);
  return s_->value;
}

}  // namespace mk::auth
