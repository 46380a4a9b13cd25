#include "mcp/era.hpp"

#include "mcp/jsonrpc.hpp"
#include "mcp/session.hpp"

#include <fmt/core.h>

namespace mcp {
using jsonrpc::ProtocolError;

namespace {
const json::object* meta_of(const json::object& params) {
  auto* m = params.if_contains("_meta");
  return m && m->is_object() ? &m->as_object() : nullptr;
}
}  // namespace

json::array supported_versions() { return json::array{kModernVersion, "2025-11-25", "2025-06-18", "2025-03-26"}; }

bool is_modern_request(std::string_view method, const json::object& params) {
  if (method == "server/discover") return true;
  auto* m = meta_of(params);
  return m && m->contains(meta::protocol_version);
}

std::string meta_protocol_version(const json::object& params) {
  auto* m = meta_of(params);
  if (!m) return {};
  auto* v = m->if_contains(meta::protocol_version);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

RequestMeta parse_request_meta(const json::object& params) {
  auto* m = meta_of(params);
  if (!m)
    throw ProtocolError(jsonrpc::invalid_params,
                        fmt::format("Invalid params: _meta with \"{}\" and \"{}\" is required on every request of "
                                    "protocol version {}",
                                    meta::protocol_version, meta::client_capabilities, kModernVersion));
  RequestMeta r;
  auto* v = m->if_contains(meta::protocol_version);
  if (!v || !v->is_string() || v->as_string().empty())
    throw ProtocolError(jsonrpc::invalid_params,
                        fmt::format("Invalid params: _meta[\"{}\"] must be a version string", meta::protocol_version));
  r.version = std::string(v->as_string());
  auto* caps = m->if_contains(meta::client_capabilities);
  if (!caps || !caps->is_object())
    throw ProtocolError(jsonrpc::invalid_params,
                        fmt::format("Invalid params: _meta[\"{}\"] must be an object", meta::client_capabilities));
  r.client_capabilities = caps->as_object();
  if (auto* ci = m->if_contains(meta::client_info); ci && ci->is_object()) r.client_info = ci->as_object();
  if (auto* l = m->if_contains(meta::log_level)) {
    int rank = l->is_string() ? log_level_rank(l->as_string()) : -1;
    if (rank < 0)
      throw ProtocolError(jsonrpc::invalid_params,
                          fmt::format("Invalid params: _meta[\"{}\"] must be one of debug, info, notice, warning, "
                                      "error, critical, alert, emergency",
                                      meta::log_level));
    r.log_rank = rank;
  }
  return r;
}

void check_modern_version(const RequestMeta& m) {
  if (m.version == kModernVersion) return;
  throw ProtocolError(jsonrpc::unsupported_protocol_version,
                      fmt::format("Unsupported protocol version: {} (supported: {}; 2025 versions through "
                                  "initialize)",
                                  m.version, kModernVersion),
                      json::object{{"supported", supported_versions()}, {"requested", m.version}});
}

}  // namespace mcp
