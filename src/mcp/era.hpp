#pragma once
// Protocol eras. The 2025 era negotiates a version once with `initialize` and keeps a session;
// the 2026-07-28 era is stateless: every request carries its protocol version and the
// client's capabilities in params._meta. The era is chosen per request (spec
// basic/versioning: "Backward Compatibility with Initialization-Based Versions").
#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace mcp {

namespace json = boost::json;

inline constexpr const char* kModernVersion = "2026-07-28";

namespace meta {
inline constexpr const char* protocol_version = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* client_capabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* client_info = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* log_level = "io.modelcontextprotocol/logLevel";
inline constexpr const char* server_info = "io.modelcontextprotocol/serverInfo";
}  // namespace meta

// Every version this server speaks, newest first (server/discover, UnsupportedProtocolVersion).
json::array supported_versions();

// A request of the 2026-07-28 era: its _meta names a protocol version, or it is server/discover
// (which only that era has, so a discover without _meta is a malformed modern request).
bool is_modern_request(std::string_view method, const json::object& params);

// The protocol version a request's _meta names, or empty.
std::string meta_protocol_version(const json::object& params);

struct RequestMeta {
  std::string version;
  json::object client_capabilities;
  json::object client_info;  // optional (a SHOULD)
  int log_rank = 99;         // no notifications/message unless the request asks for a level
};

// Reads the _meta of a modern request. Throws ProtocolError -32602 when _meta, its protocol
// version or the client capabilities are missing or malformed.
RequestMeta parse_request_meta(const json::object& params);
// Throws ProtocolError -32022 (data: supported, requested) for a version we do not serve.
void check_modern_version(const RequestMeta& m);

}  // namespace mcp
