// HTTP request handling: the input is what a client writes on one keep-alive connection. Each
// request is parsed by Beast's request parser with the listener's kind of limits, then handled
// by McpEndpoint (Host/Origin checks, both protocol eras' header checks, sessions, SSE resume)
// writing to an in-memory response sink, with a few fake tools behind it. The first byte picks
// options. A literal "SESSION" in a request's Mcp-Session-Id is replaced by the last session id
// the endpoint issued, so inputs can reach the session paths (ids are random).
#include "fake_tools.hpp"
#include "mcp/server.hpp"
#include "transport/http/mcp_endpoint.hpp"
#include "util/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using mk::transport::http::Request;
using mk::transport::http::Response;

namespace {
class SinkWriter : public mk::transport::http::Writer {
 public:
  explicit SinkWriter(bool client_leaves) : client_leaves_(client_leaves) {}
  asio::awaitable<void> send(Response res) override {
    status = res.result_int();
    record(res);
    keep = res.keep_alive();
    co_return;
  }
  asio::awaitable<bool> start_sse(Response headers) override {
    status = headers.result_int();
    record(headers);
    keep = headers.keep_alive();
    co_return true;
  }
  asio::awaitable<bool> sse(std::string chunk) override {
    if (chunk.empty()) std::abort();  // an empty chunk would end the chunked body early
    co_return !client_leaves_ || ++events_ < 2;
  }
  asio::awaitable<void> end_sse() override { co_return; }

  std::string session_id;
  bool keep = false;

 private:
  void record(const Response& r) {
    if (auto sid = r["Mcp-Session-Id"]; !sid.empty()) session_id = std::string(sid);
  }
  bool client_leaves_;
  int events_ = 0;
};
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mk::log::set_level(static_cast<mk::log::Level>(4));  // above every level: quiet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  asio::io_context io;
  mcp::ServerOptions sopts;
  sopts.max_result_text_bytes = 1024;
  mcp::Server server(io.get_executor(), {"fuzz", "0"}, sopts);
  fuzz::add_fake_tools(server);
  mk::transport::http::Options opts;
  static const char* const addresses[] = {"127.0.0.1", "0.0.0.0", "::1", "localhost"};
  opts.address = addresses[flags & 3];
  opts.disable_streaming = (flags & 4) != 0;
  if (flags & 8) opts.allowed_origins = {"https://app.example"};
  if (flags & 16) opts.allowed_origins.push_back("*");
  opts.max_sessions = 2;
  const bool client_leaves = (flags & 32) != 0;
  auto endpoint = std::make_unique<mk::transport::http::McpEndpoint>(io, server, opts);

  boost::beast::flat_buffer buffer;
  std::string last_session;
  for (int n = 0; n < 16 && !in.empty(); ++n) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024);
    parser.header_limit(8 * 1024);
    parser.eager(true);
    boost::system::error_code ec;
    while (!parser.is_done()) {
      auto used = parser.put(asio::buffer(in.data(), in.size()), ec);
      in.remove_prefix(used);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec) break;
      if (used == 0) {  // no progress: the connection ends here
        parser.put_eof(ec);
        break;
      }
    }
    // A malformed or over-limit request: the listener closes the connection (after a 413/431).
    if (ec || !parser.is_done()) break;
    Request req = parser.release();
    if (req["Mcp-Session-Id"] == "SESSION") req.set("Mcp-Session-Id", last_session);
    SinkWriter w(client_leaves);
    bool threw = false;
    asio::co_spawn(io, endpoint->handle(req, w), [&threw](std::exception_ptr e) { threw = e != nullptr; });
    io.run();
    io.restart();
    // The listener turns an exception into a 500; for a request it is a bug all the same.
    if (threw) std::abort();
    if (w.status == 0) std::abort();  // every request gets an answer
    if (!w.session_id.empty()) last_session = w.session_id;
    if (!w.keep) break;
  }
  endpoint->close_all();
  io.run();
  return 0;
}
