#pragma once
// 2026-07-28 Streamable HTTP: every POST repeats parts of its body in headers so proxies and
// load balancers can route without parsing JSON. The server must check they agree.
#include "transport/http/writer.hpp"

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace mk::transport::http {

// Decodes a header value sent as `=?base64?...?=` (non-ASCII or unsafe text); other values
// come back unchanged. Empty optional-like result: `ok` false when the base64 is malformed.
struct DecodedHeader {
  std::string value;
  bool ok = true;
};
DecodedHeader decode_header_value(std::string_view raw);

// Checks MCP-Protocol-Version against _meta's version, Mcp-Method against the method and,
// for tools/call, resources/read and prompts/get, Mcp-Name against params.name / params.uri.
// Returns an empty string when they agree, else what disagrees (for a -32020 error).
std::string check_modern_headers(const Request& req, std::string_view method, const boost::json::object& params,
                                 std::string_view meta_version);

}  // namespace mk::transport::http
