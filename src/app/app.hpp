#pragma once
// The application: configuration, the clusters it reaches and the environment every tool call
// runs in (pipeline::Env). Tools never see this class: they get the pipeline's Env and Call.
#include "app/config.hpp"
#include "federation/federation.hpp"
#include "mcp/server.hpp"
#include "pipeline/clusters.hpp"
#include "pipeline/pipeline.hpp"

#include <memory>

namespace mk {

class App {
 public:
  App(boost::asio::any_io_executor ex, Config cfg);

  const Config& config() const { return cfg_; }
  pipeline::Clusters& clusters() { return clusters_; }
  pipeline::Env& env() { return env_; }
  federation::Federation* federation() { return federation_.get(); }

 private:
  Config cfg_;
  pipeline::Clusters clusters_;
  pipeline::Env env_;
  std::unique_ptr<federation::Federation> federation_;  // --enable-capi
};

// Registers every tool the configuration allows on the server, each through the call pipeline.
void register_all_tools(mcp::Server& server, App& app);

}  // namespace mk
