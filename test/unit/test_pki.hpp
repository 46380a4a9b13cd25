#pragma once
// A throw-away PKI for TLS tests, made with the openssl command line in a TempDir: ca.{key,crt}
// and server.{key,crt} (issued by that CA for IP 127.0.0.1, common name `server_cn`), plus
// other.{key,crt}, a second self-signed CA that trusts nothing of the first.
#include "temp_dir.hpp"

#include <cstdlib>
#include <string>

namespace testutil {

// True when every file was written.
inline bool make_test_pki(const TempDir& dir, const std::string& server_cn) {
  const std::string q = " 2>/dev/null";
  std::string cmd =
      "cd " + dir.str() +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca" + q +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 1" + " -subj /CN=other" +
      q + " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr" + " -subj /CN=" + server_cn + q +
      " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext" +
      " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt" +
      " -days 1 -extfile ext" + q;
  return std::system(cmd.c_str()) == 0;
}

}  // namespace testutil
