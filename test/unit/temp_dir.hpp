#pragma once
// A scratch directory for unit tests, removed when the test ends.
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace testutil {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mcpk-unit-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  // Writes `content` to a path relative to the directory (parents created); returns the full path.
  std::string write(const std::string& rel, const std::string& content, bool executable = false) const {
    auto p = path_ / rel;
    std::filesystem::create_directories(p.parent_path());
    {
      std::ofstream f(p, std::ios::binary | std::ios::trunc);
      f << content;
    }
    if (executable) ::chmod(p.c_str(), 0755);
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace testutil
