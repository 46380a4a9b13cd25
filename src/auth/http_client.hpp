#pragma once
// A small HTTP(S) client for the upstream identity provider (Dex, Google): discovery, JWKS,
// token requests. One connection per request (a few calls per sign-in, not per MCP call),
// a deadline on the whole exchange and a cap on the answer, system CAs plus --dex-ca-file.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace mk::auth {

struct HttpClientOptions {
  std::string ca_file;                                          // extra trust anchor (PEM) besides the system store
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // connect + request + answer
  // Discovery documents, JWKS and token answers are a few KiB; 1 MiB is far beyond any of them.
  std::size_t max_response_bytes = 1u << 20;
  // SSRF protection (CIMD fetches): when set, every address the host resolves to is checked
  // and the connection goes only to addresses that passed (so a second resolution cannot
  // swap in another); none passing is Errc::forbidden. Arguments: the URL's host, an address.
  std::function<bool(const std::string&, const boost::asio::ip::address&)> allow_address;
  bool use_system_cas = true;  // false: only ca_file is trusted
};

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  HttpClient(boost::asio::any_io_executor ex, HttpClientOptions opts);
  ~HttpClient();
  // GET when `body` is empty, else POST with `content_type`. Throws Errc::unavailable
  // (connect/TLS/IO), Errc::timeout, Errc::too_large; any HTTP status is returned.
  boost::asio::awaitable<HttpAnswer> get(std::string url, Headers headers);
  boost::asio::awaitable<HttpAnswer> post(std::string url, Headers headers, std::string body, std::string content_type);

 private:
  boost::asio::awaitable<HttpAnswer> send(bool post, std::string url, Headers headers, std::string body,
                                          std::string content_type);
  boost::asio::any_io_executor ex_;
  HttpClientOptions opts_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
};

}  // namespace mk::auth
