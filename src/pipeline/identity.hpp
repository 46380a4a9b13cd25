#pragma once
// Who is calling, as the transport established it. Empty for stdio and for HTTP without
// OAuth (the server's own credentials then). OAuth fills it per request; federation and the
// client factory key their caches on it.
#include <string>
#include <vector>

namespace mk::pipeline {

struct Identity {
  std::string subject;  // stable user id (the IdP's `sub`); "" = anonymous (local user)
  std::string email;
  std::vector<std::string> groups;
  bool authenticated() const { return !subject.empty(); }
};

}  // namespace mk::pipeline
