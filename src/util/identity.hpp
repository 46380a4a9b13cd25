#pragma once
// Who is calling, as the transport established it (OAuth). Empty for stdio and for HTTP
// without OAuth: the server's own credentials are used then. A plain struct in util so the
// MCP session (mcp), the HTTP transport and the call pipeline all see the same type.
#include <optional>
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
  // The ID token's email_verified claim; nullopt when the token has none (Dex and Google send
  // it). false => the e-mail is not the user's to act as (impersonation refuses it). Last, so
  // positional initializers {sub, email, groups, token} keep their meaning.
  std::optional<bool> email_verified;
  bool authenticated() const { return !subject.empty(); }
};

}  // namespace mk
