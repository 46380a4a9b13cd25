#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace mk::transport::http {

struct Options {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;
  std::string endpoint = "/mcp";
  bool disable_streaming = false;
  std::size_t max_body_bytes = 4u << 20;
  std::size_t max_header_bytes = 16u << 10;
  std::size_t max_sessions = 1000;
  std::chrono::seconds session_idle_timeout{30 * 60};
  std::chrono::seconds read_timeout{30};       // headers + body of one request
  std::chrono::seconds keepalive_timeout{75};  // idle connection between requests
  std::chrono::seconds shutdown_grace{10};
  std::vector<std::string> allowed_origins;  // extra Origins (scheme://host[:port]) beyond loopback
  std::string tls_cert_file, tls_key_file;
  bool serve_metrics = true;  // /metrics on this listener
};

}  // namespace mk::transport::http
