// JSON Schema argument validation against the schemas the real tools declare: the first byte
// picks a tool, the rest is the `arguments` JSON (parsed as the server parses messages). With
// the top bit set the input is {"schema":..., "instance":...} instead, so the validator's
// keyword handling is explored beyond our own schemas; a schema of the wrong shape may throw
// (schemas are ours, not the caller's), nothing else may happen.
#include "mcp/schema.hpp"
#include "app/app.hpp"
#include "mcp/server.hpp"
#include "util/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace json = boost::json;

namespace {
std::vector<json::object> g_schemas;

json::value parse(std::string_view text, bool& ok) {
  json::parse_options po;
  po.max_depth = 64;
  boost::system::error_code ec;
  auto v = json::parse(text, ec, {}, po);
  ok = !ec;
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mk::log::set_level(static_cast<mk::log::Level>(4));  // above every level: quiet
  // Every tool, as registered at start-up (registration reads no kubeconfig in-cluster).
  boost::asio::io_context io;
  mk::Config cfg;
  cfg.in_cluster = true;
  cfg.non_destructive = false;
  mk::App app(io.get_executor(), cfg);
  mcp::Server server(io.get_executor(), {"fuzz", "0"});
  mk::register_all_tools(server, app);
  for (auto& t : server.tools()) g_schemas.push_back(t.input_schema);
  if (g_schemas.empty()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool ok = false;
  auto v = parse(text, ok);
  if (!ok) return 0;
  if ((data[0] & 0x80) == 0) {
    (void)mcp::validate(v, g_schemas[data[0] % g_schemas.size()]);
    return 0;
  }
  auto* o = v.if_object();
  auto* s = o ? o->if_contains("schema") : nullptr;
  auto* i = o ? o->if_contains("instance") : nullptr;
  if (!s || !s->is_object() || !i) return 0;
  try {
    (void)mcp::validate(*i, s->as_object());
  } catch (const std::exception&) {
  }
  return 0;
}
