#pragma once
// Command line: `mcp-kubernetes [serve] [flags]` and `mcp-kubernetes version`.
#include "app/config.hpp"

#include <optional>
#include <string>

namespace mk::cli {

struct Parsed {
  enum class Command { serve, version, exit } command = Command::serve;
  int exit_code = 0;  // for Command::exit (help printed, or a usage error)
  Config config;
};

Parsed parse(int argc, char** argv);

}  // namespace mk::cli
