#pragma once
// JSON-RPC 2.0 framing helpers shared by every transport.
#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace mcp::jsonrpc {

namespace json = boost::json;

// Standard codes plus the MCP-specific ones.
enum Code : int {
  parse_error = -32700,
  invalid_request = -32600,
  method_not_found = -32601,
  invalid_params = -32602,
  internal_error = -32603,
  resource_not_found = -32002,  // 2025 era; 2026-07-28 uses invalid_params with data.uri
  // 2026-07-28 (-32020..-32099 are reserved for MCP)
  header_mismatch = -32020,
  missing_required_client_capability = -32021,
  unsupported_protocol_version = -32022,
};

// Raised by method handlers for protocol-level failures; becomes a JSON-RPC error response.
struct ProtocolError : std::exception {
  int code;
  std::string message;
  json::value data;
  ProtocolError(int c, std::string m, json::value d = nullptr) : code(c), message(std::move(m)), data(std::move(d)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

json::object response(const json::value& id, json::value result);
json::object error(const json::value& id, int code, std::string_view message, const json::value& data = nullptr);
json::object notification(std::string_view method, json::object params);

// A valid id is a string or an integer (null is tolerated only in error responses).
bool valid_id(const json::value& id);

}  // namespace mcp::jsonrpc
