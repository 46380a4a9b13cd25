#include "transport/http/modern_headers.hpp"

#include <fmt/core.h>
#include <boost/beast/core/detail/base64.hpp>

namespace mk::transport::http {
namespace json = boost::json;

DecodedHeader decode_header_value(std::string_view raw) {
  constexpr std::string_view prefix = "=?base64?", suffix = "?=";
  if (raw.size() < prefix.size() + suffix.size() || raw.substr(0, prefix.size()) != prefix ||
      raw.substr(raw.size() - suffix.size()) != suffix)
    return {std::string(raw), true};
  auto body = raw.substr(prefix.size(), raw.size() - prefix.size() - suffix.size());
  for (char ch : body)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '+' && ch != '/' && ch != '=') return {{}, false};
  std::string out(boost::beast::detail::base64::decoded_size(body.size()), '\0');
  auto [written, read] = boost::beast::detail::base64::decode(out.data(), body.data(), body.size());
  if (read != body.size() && body.substr(read).find_first_not_of('=') != std::string_view::npos) return {{}, false};
  out.resize(written);
  return {std::move(out), true};
}

std::string check_modern_headers(const Request& req, std::string_view method, const json::object& params,
                                 std::string_view meta_version) {
  auto version = req["MCP-Protocol-Version"];
  if (version.empty()) return "the MCP-Protocol-Version header is required";
  if (version != meta_version)
    return fmt::format("MCP-Protocol-Version header \"{}\" does not match _meta protocol version \"{}\"",
                       std::string_view(version), meta_version);
  auto m = decode_header_value(req["Mcp-Method"]);
  if (!m.ok) return "the Mcp-Method header is not valid base64";
  if (m.value.empty()) return "the Mcp-Method header is required";
  if (m.value != method) return fmt::format("Mcp-Method header \"{}\" does not match method \"{}\"", m.value, method);
  const char* name_field = method == "tools/call" || method == "prompts/get" ? "name"
                           : method == "resources/read"                      ? "uri"
                                                                             : nullptr;
  if (!name_field) return {};
  auto* v = params.if_contains(name_field);
  std::string_view expected = v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
  auto n = decode_header_value(req["Mcp-Name"]);
  if (!n.ok) return "the Mcp-Name header is not valid base64";
  if (n.value.empty()) return fmt::format("the Mcp-Name header is required for {}", method);
  if (n.value != expected)
    return fmt::format("Mcp-Name header \"{}\" does not match params.{} \"{}\"", n.value, name_field, expected);
  return {};
}

}  // namespace mk::transport::http
