// The pipeline with federation on (--enable-capi): a Kubernetes tool (one with `context`) gets
// the cluster arguments and, when it reads, the fleet output schema; a write tool refuses fleet
// targets and `cluster` with `context` is refused, all before any cluster is contacted. Without
// federation the schemas are unchanged.
#include "federation/federation.hpp"
#include "mcp/server.hpp"
#include "pipeline/pipeline.hpp"
#include "safety/policy.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <cstdlib>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace mk;

namespace {

class FederationPipeline : public ::testing::Test {
 protected:
  FederationPipeline() {
    kubeconfig_ = dir_.write("kubeconfig", R"(apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
)");
    ::setenv("KUBECONFIG", kubeconfig_.c_str(), 1);
  }
  ~FederationPipeline() override { ::unsetenv("KUBECONFIG"); }

  void add(pipeline::Registrar& reg, std::string name, std::string_view verb) {
    auto schema = json::parse(R"({"type":"object","properties":{"context":{"type":"string"},
      "resourceType":{"type":"string"}},"additionalProperties":false})");
    reg.add({.name = std::move(name),
             .input_schema = schema.as_object(),
             .output_schema = json::object{{"type", "object"}},
             .verb = verb,
             .handler = [this](pipeline::Env&, pipeline::Call&) -> asio::awaitable<mcp::ToolResult> {
               ++ran_;
               co_return mcp::ToolResult{json::object{}, "ran"};
             }});
  }

  std::string call(mcp::Server& server, const std::string& tool, json::object args) {
    std::vector<json::object> out;
    auto s = server.make_session([&](json::object m) { out.push_back(std::move(m)); });
    s->data = std::make_shared<pipeline::SessionState>();
    s->initialized = true;
    s->protocol_version = "2025-11-25";
    server.handle(s, json::object{{"jsonrpc", "2.0"},
                                  {"id", 1},
                                  {"method", "tools/call"},
                                  {"params", json::object{{"name", tool}, {"arguments", std::move(args)}}}});
    io_.run();
    io_.restart();
    if (out.size() != 1) return "no answer";
    auto& r = out.back().at("result").as_object();
    return std::string(r.at("content").as_array().at(0).as_object().at("text").as_string());
  }

  const mcp::Tool& tool(const mcp::Server& server, std::string_view name) {
    for (auto& t : server.tools())
      if (t.name == name) return t;
    throw std::runtime_error("no tool");
  }

  testutil::TempDir dir_;
  std::string kubeconfig_;
  asio::io_context io_;
  int ran_ = 0;
};

}  // namespace

TEST_F(FederationPipeline, SchemasAndRefusalsWithCapi) {
  pipeline::Clusters clusters(io_.get_executor(), {});
  pipeline::Env env({}, Policy(PolicyConfig{.non_destructive = false}), clusters);
  federation::Federation fed(io_.get_executor(), {}, [] { return std::shared_ptr<k8s::Client>(); });
  env.set_federation(&fed);
  mcp::Server server(io_.get_executor(), {"t", "1"});
  pipeline::Registrar reg(server, env);
  add(reg, "reader", op::list);
  add(reg, "writer", op::del);
  auto& reader = tool(server, "reader");
  auto& props = reader.input_schema.at("properties").as_object();
  EXPECT_TRUE(props.contains("cluster"));
  EXPECT_TRUE(props.contains("clusters"));
  EXPECT_TRUE(props.contains("clusterSelector"));
  EXPECT_TRUE(reader.output_schema.contains("anyOf")) << json::serialize(reader.output_schema);
  auto& writer = tool(server, "writer");
  EXPECT_TRUE(writer.input_schema.at("properties").as_object().contains("cluster"));
  EXPECT_FALSE(writer.output_schema.contains("anyOf")) << "writes never answer in the fleet shape";

  EXPECT_EQ(call(server, "writer", {{"cluster", "*"}}),
            "PolicyDenied: fleet-wide calls are read-only; name one cluster for this tool");
  EXPECT_EQ(call(server, "writer", {{"clusters", json::array{"a", "b"}}}),
            "PolicyDenied: fleet-wide calls are read-only; name one cluster for this tool");
  EXPECT_NE(call(server, "reader", {{"cluster", "wc1"}, {"context", "ctx"}}).find("cannot be combined"),
            std::string::npos);
  EXPECT_NE(call(server, "reader", {{"cluster", "../x"}}).find("InvalidArgument: cluster"), std::string::npos);
  EXPECT_EQ(ran_, 0) << "no handler ran for a refused call";
  EXPECT_EQ(call(server, "reader", {}), "ran") << "no cluster: the management cluster, as before";
  EXPECT_EQ(ran_, 1);
}

TEST_F(FederationPipeline, NothingChangesWithoutCapi) {
  pipeline::Clusters clusters(io_.get_executor(), {});
  pipeline::Env env({}, Policy(PolicyConfig{}), clusters);
  mcp::Server server(io_.get_executor(), {"t", "1"});
  pipeline::Registrar reg(server, env);
  add(reg, "reader", op::list);
  auto& reader = tool(server, "reader");
  EXPECT_FALSE(reader.input_schema.at("properties").as_object().contains("cluster"));
  EXPECT_EQ(reader.output_schema, (json::object{{"type", "object"}}));
  EXPECT_NE(call(server, "reader", {{"cluster", "wc1"}}).find("unknown argument 'cluster'"), std::string::npos);
}
