#pragma once
// Long-lived streams to the API server (log follow, exec, port-forward). They do not fit
// ApiTransport's request/response pool: each gets its own connection, made with the same
// endpoint, TLS identity and credentials, and is closed (never pooled) when done.
#include "k8s/api_transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace mk::k8s {

// One dedicated connection: TLS over TCP, or plain TCP for http:// servers.
struct ApiConnection {
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
  std::optional<boost::beast::tcp_stream> plain;
  boost::beast::tcp_stream& lowest() { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }
  void close();  // abrupt; idempotent; pending operations complete with operation_aborted
};

// Connects (and TLS-handshakes) within `timeout`; throws Errc::unavailable / Errc::timeout.
boost::asio::awaitable<std::unique_ptr<ApiConnection>> dial(ApiTransport& t, std::chrono::milliseconds timeout);

// Path prefix of the server URL (e.g. "/k8s/clusters/c-1" behind Rancher), "" usually.
std::string api_base_path(const ApiTransport& t);

enum class StreamEnd { finished, deadline, cancelled };
// Records how a stream ended on its span: `k8s.stream.end` = finished | deadline | cancelled.
void record_stream_end(mk::trace::Span& span, StreamEnd end);

// A streamed GET response body (logs?follow=true): read chunk by chunk as it arrives.
class HttpStream {
 public:
  // Sends GET `target` (path and query; the base path is prepended) and reads the response
  // header within `timeout`. A non-2xx answer is read (capped) and thrown as the API's Status.
  // A sampled `parent` (the tool call's span) gets a client span for the whole stream, from
  // the request until this object is gone, with the bytes received.
  static boost::asio::awaitable<std::unique_ptr<HttpStream>> open(ApiTransport& t, std::string target, std::string what,
                                                                  std::chrono::milliseconds timeout,
                                                                  mk::trace::SpanContext parent);
  ~HttpStream();

  // The next piece of body as it arrives (at most `max` bytes); std::nullopt at the end of the body.
  boost::asio::awaitable<std::optional<std::string>> read_some(std::size_t max = 64 * 1024);
  void close() { conn_->close(); }
  // Ends the stream's span (if traced) with how the stream ended and the bytes received so
  // far; without it the span ends with this object.
  void end_span(StreamEnd end);

  struct Parser;

 private:
  HttpStream() = default;
  boost::asio::awaitable<void> start(ApiTransport& t, std::string target, const std::string& what,
                                     std::chrono::milliseconds timeout, const mk::trace::SpanContext& trace);
  std::unique_ptr<ApiConnection> conn_;
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<Parser> parser_;
  mk::trace::Span span_;
  std::uint64_t bytes_ = 0;
};

// Runs `body` on its own coroutine and waits until it finishes, `limit` passes, or this call is
// cancelled. In the last two cases `stop` is called and must make `body` return promptly (close
// its socket); `body` must therefore own (or share) everything it touches. An exception from a
// finished `body` is rethrown.
boost::asio::awaitable<StreamEnd> run_bounded(std::function<boost::asio::awaitable<void>()> body,
                                              std::function<void()> stop, std::chrono::steady_clock::duration limit);

}  // namespace mk::k8s
