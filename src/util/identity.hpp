#pragma once
// Who is calling, as the transport established it (OAuth). Empty for stdio and for HTTP
// without OAuth: the server's own credentials are used then. A plain struct in util so the
// MCP session (mcp), the HTTP transport and the call pipeline all see the same type.
#include <string>
#include <vector>

namespace mk {

struct Identity {
  std::string subject;  // stable user id (the IdP's `sub`); "" = anonymous (local user)
  std::string email;
  std::vector<std::string> groups;
  // Downstream OAuth: the user's upstream (Dex) ID token, the API server's bearer for this
  // user. A credential: never logged, rendered or returned to any client.
  std::string upstream_token;
  bool authenticated() const { return !subject.empty(); }
};

}  // namespace mk
