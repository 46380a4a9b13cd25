#pragma once
// The application object every tool receives: configuration, safety policy and clusters,
// plus per-session state (the selected context).
#include "app/clusters.hpp"
#include "app/config.hpp"
#include "mcp/server.hpp"
#include "safety/policy.hpp"

#include <memory>
#include <string>

namespace mk::tools {
class ForwardRegistry;
}

namespace mk {

struct KubeSession : mcp::SessionData {
  std::string context;  // "" => the server's default context
  // This session's port-forwards (created on first use); its destructor closes them all.
  std::shared_ptr<tools::ForwardRegistry> forwards;
};

class App {
 public:
  App(boost::asio::any_io_executor ex, Config cfg);

  const Config& config() const { return cfg_; }
  const Policy& policy() const { return policy_; }
  Clusters& clusters() { return clusters_; }

  // The context a call runs against: its `context` argument, else the session's, else the default.
  std::string context_for(const mcp::CallContext& c);
  std::shared_ptr<k8s::Client> client_for(const mcp::CallContext& c);

 private:
  Config cfg_;
  Policy policy_;
  Clusters clusters_;
};

// Registers every tool the configuration allows on the server.
void register_all_tools(mcp::Server& server, App& app);

}  // namespace mk
