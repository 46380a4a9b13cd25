// JSON-RPC framing and dispatch: the input is a stdio stream (newline-delimited messages) for
// one session, handled by mcp::Server::handle_raw with a few fake tools. Every line is handled
// before the io_context runs, so later messages meet earlier calls still in flight
// (cancellation, duplicate ids); then a second round runs each line to completion.
#include "mcp/jsonrpc.hpp"
#include "fake_tools.hpp"
#include "mcp/server.hpp"
#include "util/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace json = boost::json;

namespace {
std::vector<std::string_view> lines(std::string_view in) {
  std::vector<std::string_view> out;
  while (!in.empty()) {
    auto nl = in.find('\n');
    auto l = in.substr(0, nl);
    if (l.find_first_not_of(" \t\r") != std::string_view::npos) out.push_back(l);
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  return out;
}

// Every reply must be a serialisable JSON-RPC 2.0 message.
void check(const json::object& m) {
  auto* v = m.if_contains("jsonrpc");
  if (!v || !v->is_string() || v->as_string() != "2.0") std::abort();
  bool response = m.contains("result") || m.contains("error");
  if (response && !m.contains("id")) std::abort();
  (void)json::serialize(m);
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Above every level: the fake tools' failures are expected, and logging them slows the run.
  mk::log::set_level(static_cast<mk::log::Level>(4));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto msgs = lines(in);
  for (int round = 0; round < 2; ++round) {
    boost::asio::io_context io;
    mcp::ServerOptions opts;
    opts.tools_page_size = 2;
    opts.max_result_text_bytes = 1024;
    mcp::Server server(io.get_executor(), {"fuzz", "0", "Fuzz", "instructions"}, opts);
    fuzz::add_fake_tools(server);
    auto session = server.make_session([](json::object m) { check(m); });
    for (auto m : msgs) {
      server.handle_raw(session, m);
      if (round == 1) io.run();
      io.restart();
    }
    io.run();
  }
  return 0;
}
