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
  std::size_t max_sessions_per_client = 100;     // per remote IP address (a proxy counts as one)
  std::size_t sse_log_max_bytes = 8u << 20;      // one request's kept SSE events
  std::size_t sse_log_budget_bytes = 64u << 20;  // all finished SSE logs kept for resumption
  std::chrono::seconds session_idle_timeout{30 * 60};
  std::chrono::seconds read_timeout{30};       // headers + body of one request
  std::chrono::seconds keepalive_timeout{75};  // idle connection between requests
  std::chrono::seconds shutdown_grace{10};
  std::vector<std::string> allowed_origins;  // extra Origins (scheme://host[:port]) beyond loopback
  std::string tls_cert_file, tls_key_file;
  bool serve_metrics = true;  // /metrics on this listener
};

}  // namespace mk::transport::http
