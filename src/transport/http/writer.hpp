#pragma once
// What a request handler writes to: a whole response, or an SSE stream (chunked
// text/event-stream, flushed per event). Hides plain vs TLS streams from the handlers.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>

#include <string>

#include "util/identity.hpp"

namespace mk::transport::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

class Writer {
 public:
  virtual ~Writer() = default;
  virtual boost::asio::awaitable<void> send(Response res) = 0;
  // Starts a chunked SSE response with the given status/headers (body ignored).
  virtual boost::asio::awaitable<bool> start_sse(Response headers) = 0;
  // Writes one SSE chunk; false when the client is gone.
  virtual boost::asio::awaitable<bool> sse(std::string chunk) = 0;
  virtual boost::asio::awaitable<void> end_sse() = 0;
  unsigned status = 0;    // what was sent, for metrics
  std::string peer;       // remote IP address of the connection
  mk::Identity identity;  // the request's authenticated caller (OAuth), set by the router
};

Response make_response(const Request& req, bhttp::status st, std::string body,
                       std::string content_type = "application/json");

}  // namespace mk::transport::http
