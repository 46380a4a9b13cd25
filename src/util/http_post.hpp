#pragma once
// A small blocking HTTP/1.1 POST for background threads (the OTLP exporters): http or https
// (peer verified: system CAs or a given CA file, host name checked), one connection per
// request, one overall deadline, the answer's size capped. Never call it on the I/O thread.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mk::http_post {

struct Url {
  std::string host;  // without brackets for IPv6 literals
  std::string port;
  std::string target;  // path (and query), starting with '/'
  bool tls = false;    // https
};

// Parses http[s]://host[:port][/path]. Throws mk::Error(invalid_argument) for other schemes and
// malformed input.
Url parse_url(const std::string& url);

struct Result {
  unsigned status = 0;  // 0 = no HTTP answer (see error)
  std::string body;     // at most max_body bytes
  std::string error;    // connect / timeout / protocol error, "" when an answer arrived
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Sends the body and reads the answer within `timeout` in all (resolve, connect, TLS handshake,
// write, read). https: the server's certificate is verified against `ca_file` (PEM) when given,
// else the system's CAs.
Result post(const Url& url, const Headers& headers, std::string body, std::chrono::milliseconds timeout,
            std::size_t max_body, const std::string& ca_file = {});

}  // namespace mk::http_post
