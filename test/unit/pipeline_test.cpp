// The call pipeline: argument hygiene, the namespace policy on resolved targets, concurrency
// limits, output caps and redaction, and that a registered tool cannot skip any of them.
#include "pipeline/pipeline.hpp"
#include "pipeline/arg_rules.hpp"
#include "safety/policy.hpp"
#include "util/error.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace mk;
using pipeline::ArgKind;

namespace {

std::string invalid(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument) << e.what();
    return e.what();
  }
  return {};
}

std::string denied(const Policy& p, const TargetRef& t) {
  try {
    p.check_target(t);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::policy_denied) << e.what();
    return e.what();
  }
  return {};
}

}  // namespace

TEST(ArgRules, ObjectNamesArePathSegments) {
  for (auto ok : {"web", "my.app-1", "system:controller:job-controller", "a", "kube-root-ca.crt", "edit:aggregate@x"})
    EXPECT_EQ(pipeline::check_value(ArgKind::object_name, ok), "") << ok;
  // The issue's reproductions, and the other ways out of a path segment.
  for (auto bad : {"other/configmaps/cm1", "other/configmaps", "node1/proxy/metrics", ".", "..", "a%2Fb", "%2e%2e",
                   "a b", "a\tb", "a?watch=1", "a#x", "a\\b", "caf\xc3\xa9", ""})
    EXPECT_NE(pipeline::check_value(ArgKind::object_name, bad), "") << bad;
  EXPECT_NE(pipeline::check_value(ArgKind::object_name, std::string(254, 'a')), "");
  EXPECT_EQ(pipeline::check_value(ArgKind::object_name, std::string(253, 'a')), "");
}

TEST(ArgRules, NamespacesAreDnsLabels) {
  for (auto ok : {"default", "kube-system", "team-a1", "0abc"})
    EXPECT_EQ(pipeline::check_value(ArgKind::dns_label, ok), "") << ok;
  for (auto bad : {"Kube-System", "a.b", "-a", "a-", "a/b", "..", "a_b", ""})
    EXPECT_NE(pipeline::check_value(ArgKind::dns_label, bad), "") << bad;
  EXPECT_NE(pipeline::check_value(ArgKind::dns_label, std::string(64, 'a')), "");
}

TEST(ArgRules, CheckArgumentsNamesTheArgumentAndSkipsFreeText) {
  auto m = invalid([] {
    pipeline::check_arguments(json::object{{"resourceType", "namespaces"}, {"name", "other/configmaps/cm1"}});
  });
  EXPECT_NE(m.find("name \"other/configmaps/cm1\""), std::string::npos) << m;
  EXPECT_NE(m.find("'/'"), std::string::npos) << m;
  m = invalid([] { pipeline::check_arguments(json::object{{"namespace", "../kube-system"}}); });
  EXPECT_NE(m.find("namespace"), std::string::npos) << m;
  m = invalid([] { pipeline::check_arguments(json::object{{"podName", "p/exec"}}); });
  EXPECT_NE(m.find("podName"), std::string::npos) << m;
  m = invalid([] { pipeline::check_arguments(json::object{{"container", "c\n"}}); });
  EXPECT_NE(m.find("container \"c?\""), std::string::npos) << "control characters are not echoed: " << m;
  // Empty means "not given"; unknown keys and free-text arguments are not path segments.
  EXPECT_NO_THROW(pipeline::check_arguments(json::object{{"namespace", ""}, {"labelSelector", "a/b=c"}}));
  EXPECT_NO_THROW(pipeline::check_arguments(json::object{{"name", "arn:aws:eks:eu-west-1:1:cluster/prod"}}, {"name"}));
}

TEST(PolicyTarget, NamespacedTargetsFollowTheLists) {
  Policy p(PolicyConfig{.allowed_namespaces = {"mine"}});
  EXPECT_EQ(denied(p, {.resource = "configmaps", .namespaced = true, .ns = "mine", .name = "cm1"}), "");
  EXPECT_NE(denied(p, {.resource = "configmaps", .namespaced = true, .ns = "other", .name = "cm1"}), "");
  // All-namespace lists are filtered by the caller, not refused.
  EXPECT_EQ(denied(p, {.resource = "configmaps", .namespaced = true, .all_namespaces = true}), "");
}

TEST(PolicyTarget, NamespaceObjectsAreTheirOwnNamespace) {
  Policy p(PolicyConfig{.denied_namespaces = {"other"}});
  auto ns = [](std::string_view name, bool write) {
    return TargetRef{
        .resource = "namespaces", .namespaced = false, .is_namespace_kind = true, .name = name, .write = write};
  };
  EXPECT_NE(denied(p, ns("other", false)), "") << "reading a denied Namespace object";
  EXPECT_NE(denied(p, ns("other", true)), "") << "deleting a denied namespace";
  EXPECT_EQ(denied(p, ns("mine", true)), "");
  EXPECT_EQ(denied(p, ns("", false)), "") << "a list of namespaces is filtered, not refused";
}

TEST(PolicyTarget, ClusterScopedWritesNeedTheOperatorWhenNamespacesAreLimited) {
  TargetRef crb{
      .resource = "clusterrolebindings.rbac.authorization.k8s.io", .namespaced = false, .name = "x", .write = true};
  TargetRef node_read{.resource = "nodes", .namespaced = false, .name = "n1", .write = false};
  // Only a deny list: main allowed these (finding 11).
  Policy deny(PolicyConfig{.denied_namespaces = {"kube-system"}});
  auto m = denied(deny, crb);
  EXPECT_NE(m.find("--allow-cluster-scoped-writes"), std::string::npos) << m;
  EXPECT_EQ(denied(deny, node_read), "");
  Policy allow(PolicyConfig{.allowed_namespaces = {"mine"}});
  EXPECT_NE(denied(allow, crb), "");
  Policy opted(PolicyConfig{.denied_namespaces = {"kube-system"}, .allow_cluster_scoped_writes = true});
  EXPECT_EQ(denied(opted, crb), "");
  Policy open(PolicyConfig{});
  EXPECT_EQ(denied(open, crb), "");
}

TEST(Limiter, PerSessionAndTotal) {
  pipeline::Limiter l(2, 3);
  int a = 0, b = 0;
  auto s1 = l.acquire(&a);
  auto s2 = l.acquire(&a);
  try {
    auto s3 = l.acquire(&a);
    ADD_FAILURE() << "a third call in one session";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::too_many_requests);
  }
  auto s4 = l.acquire(&b);
  EXPECT_EQ(l.in_flight(), 3u);
  EXPECT_THROW(l.acquire(&b), Error) << "the server-wide limit";
  { auto moved = std::move(s4); }
  EXPECT_EQ(l.in_flight(), 2u);
  EXPECT_NO_THROW(l.acquire(&b));
  EXPECT_EQ(l.in_flight(), 2u) << "a slot returns its place when destroyed";
}

TEST(FinishResult, RedactsAndCaps) {
  pipeline::Settings s{.max_response_bytes = 100, .max_structured_bytes = 200};
  json::value secret = json::parse(R"({"kind":"Secret","apiVersion":"v1","data":{"password":"aHVudGVyMg=="}})");
  auto r = pipeline::finish_result(s, {json::object{{"resource", secret}}, "ok"});
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(json::serialize(r.structured).find("aHVudGVyMg=="), std::string::npos) << json::serialize(r.structured);

  r = pipeline::finish_result(s, {json::object{}, std::string(101, 'x')});
  EXPECT_TRUE(r.is_error);
  EXPECT_TRUE(r.text.starts_with("TooLarge:")) << r.text;

  json::array big;
  for (int i = 0; i < 100; ++i) big.push_back("0123456789");
  r = pipeline::finish_result(s, {json::object{{"items", big}}, "small text"});
  EXPECT_TRUE(r.is_error) << "structuredContent is capped too";
  EXPECT_NE(r.text.find("--max-structured-bytes"), std::string::npos) << r.text;

  EXPECT_EQ(pipeline::serialized_size_upto(json::value(big), 1u << 20), json::serialize(big).size());
  EXPECT_LE(pipeline::serialized_size_upto(json::value(big), 10), 10u + 16 * 1024);
}

// A tool registered through the Registrar: bad names never reach its handler, its verb gates it,
// and its result is capped.
class RegistrarTest : public ::testing::Test {
 protected:
  RegistrarTest() {
    kubeconfig_ = dir_.write("kubeconfig", R"(apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: mine}}]
current-context: ctx
)");
    ::setenv("KUBECONFIG", kubeconfig_.c_str(), 1);
  }
  ~RegistrarTest() override { ::unsetenv("KUBECONFIG"); }

  json::object call(mcp::Server& server, json::object args, std::string tool = "probe") {
    std::vector<json::object> out;
    auto s = server.make_session([&](json::object m) { out.push_back(std::move(m)); });
    s->data = std::make_shared<pipeline::SessionState>();
    s->initialized = true;  // as after initialize / notifications/initialized
    s->protocol_version = "2025-11-25";
    server.handle(s, json::object{{"jsonrpc", "2.0"},
                                  {"id", 1},
                                  {"method", "tools/call"},
                                  {"params", json::object{{"name", tool}, {"arguments", std::move(args)}}}});
    io_.run();
    io_.restart();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? json::object{} : out.back().at("result").as_object();
  }

  static std::string text(const json::object& r) {
    return std::string(r.at("content").as_array().at(0).as_object().at("text").as_string());
  }

  testutil::TempDir dir_;
  std::string kubeconfig_;
  asio::io_context io_;
};

TEST_F(RegistrarTest, EveryStepRunsBeforeAndAfterTheHandler) {
  pipeline::Clusters clusters(io_.get_executor(), {});
  pipeline::Env env({.max_response_bytes = 64}, Policy(PolicyConfig{}), clusters);
  mcp::Server server(io_.get_executor(), {"t", "1"});
  pipeline::Registrar reg(server, env);
  int ran = 0;
  std::string seen_context;
  auto schema = json::parse(R"({"type":"object","properties":{"name":{"type":"string"},"big":{"type":"boolean"}}})");
  EXPECT_TRUE(reg.add({.name = "probe",
                       .input_schema = schema.as_object(),
                       .output_schema = json::object{{"type", "object"}},
                       .verb = op::get,
                       .handler = [&](pipeline::Env&, pipeline::Call& c) -> asio::awaitable<mcp::ToolResult> {
                         ++ran;
                         seen_context = c.context();
                         bool big = c.args().contains("big");
                         co_return mcp::ToolResult{json::object{}, big ? std::string(65, 'x') : "ok"};
                       }}));
  EXPECT_FALSE(reg.add({.name = "writer",
                        .input_schema = schema.as_object(),
                        .verb = op::del,
                        .handler = [&](pipeline::Env&, pipeline::Call&) -> asio::awaitable<mcp::ToolResult> {
                          co_return mcp::ToolResult{};
                        }}))
      << "non-destructive: a delete tool is not offered";
  EXPECT_EQ(server.tools().size(), 1u);

  auto r = call(server, json::object{{"name", "other/configmaps/cm1"}});
  EXPECT_TRUE(r.contains("isError"));
  EXPECT_TRUE(text(r).starts_with("InvalidArgument: name \"other/configmaps/cm1\"")) << text(r);
  EXPECT_EQ(ran, 0) << "the handler never saw the bad name";

  r = call(server, json::object{{"name", "cm1"}});
  EXPECT_FALSE(r.contains("isError")) << text(r);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(seen_context, "ctx");

  r = call(server, json::object{{"name", "cm1"}, {"big", true}});
  EXPECT_TRUE(text(r).starts_with("TooLarge:")) << text(r);
}

TEST_F(RegistrarTest, ConcurrencyLimitRefusesExtraCallsOfOneSession) {
  pipeline::Clusters clusters(io_.get_executor(), {});
  pipeline::Env env({.max_calls_per_session = 1}, Policy(PolicyConfig{}), clusters);
  mcp::Server server(io_.get_executor(), {"t", "1"});
  pipeline::Registrar reg(server, env);
  reg.add({.name = "wait",
           .input_schema = json::object{{"type", "object"}},
           .verb = op::get,
           .handler = [](pipeline::Env&, pipeline::Call&) -> asio::awaitable<mcp::ToolResult> {
             asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
             co_await t.async_wait(asio::use_awaitable);
             co_return mcp::ToolResult{{}, "done"};
           }});
  std::vector<json::object> out;
  auto s = server.make_session([&](json::object m) { out.push_back(std::move(m)); });
  s->data = std::make_shared<pipeline::SessionState>();
  s->initialized = true;
  s->protocol_version = "2025-11-25";
  for (int id = 1; id <= 2; ++id)
    server.handle(s, json::object{{"jsonrpc", "2.0"},
                                  {"id", id},
                                  {"method", "tools/call"},
                                  {"params", json::object{{"name", "wait"}, {"arguments", json::object{}}}}});
  io_.run();
  ASSERT_EQ(out.size(), 2u);
  std::vector<std::string> texts;
  for (auto& m : out) texts.push_back(text(m.at("result").as_object()));
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(texts[1], "done");
  EXPECT_TRUE(texts[0].starts_with("TooManyRequests:")) << texts[0];
}
