#pragma once
// The application state of one MCP session (a stdio process or one HTTP Mcp-Session-Id): the
// selected context and per-session resources tools keep (port-forwards), which
// end with the session. Stateless (2026-07-28) requests share one instance; tools must not
// keep anything there that one caller could use against another (see Call::stateless()).
#include "mcp/session.hpp"
#include "pipeline/identity.hpp"

#include <map>
#include <memory>
#include <string>
#include <typeindex>

namespace mk::pipeline {

struct SessionState : mcp::SessionData {
  std::string context;  // "" => the server's default context

  boost::json::object snapshot() const override {
    boost::json::object o;
    if (!context.empty()) o["context"] = context;
    return o;
  }
  // A context name that no longer exists fails at its next use like any unknown context.
  void restore(const boost::json::object& o) override {
    auto* c = o.if_contains("context");
    context = c && c->is_string() && c->as_string().size() <= 253 ? std::string(c->as_string()) : std::string();
  }

  // The session's instance of T, created on first use (e.g. its port-forward registry).
  template <class T, class... A>
  std::shared_ptr<T> resource(A&&... a) {
    auto& slot = resources_[std::type_index(typeid(T))];
    if (!slot) slot = std::make_shared<T>(std::forward<A>(a)...);
    return std::static_pointer_cast<T>(slot);
  }

 private:
  std::map<std::type_index, std::shared_ptr<void>> resources_;
};

}  // namespace mk::pipeline
