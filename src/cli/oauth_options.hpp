#pragma once
// The OAuth flags (issue 13; names and environment fallbacks as the original's).
#include "app/config.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace mk::cli {

struct SecretFiles {  // *-file variants of the secret flags (read at start; the server re-reads them on change)
  std::string dex_client_secret, google_client_secret, registration_token, oauth_encryption_key, valkey_password;
};

void add_oauth_flags(CLI::App& app, Config& c, SecretFiles& files);
// Reads the secret files into `c` (and keeps their paths there) and checks flag combinations;
// "" when fine, else why not.
std::string finish_oauth_flags(Config& c, const SecretFiles& files);

}  // namespace mk::cli
