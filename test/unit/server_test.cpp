// MCP dispatch without a transport: the Server is driven on an io_context through a Session
// whose sender records every outbound message.
#include "mcp/server.hpp"
#include "mcp/jsonrpc.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

json::object input_schema(const char* text) { return json::parse(text).as_object(); }

struct Observed {
  std::string tool;
  std::string outcome;
};

class ServerTest : public ::testing::Test {
 protected:
  explicit ServerTest(mcp::ServerOptions opts = {}) : server_(io_.get_executor(), {"test-server", "9.9.9"}, opts) {
    add_tools();
    server_.set_call_observer([this](const std::string& t, std::string_view outcome, double) {
      observed_.push_back({t, std::string(outcome)});
    });
    session_ = server_.make_session([this](json::object m) { out_.push_back(std::move(m)); });
  }

  void add_tools() {
    server_.add_tool({
        .name = "echo",
        .title = "Echo",
        .description = "echoes text",
        .input_schema = input_schema(R"({"type":"object","additionalProperties":false,"required":["text"],
            "properties":{"text":{"type":"string"},"times":{"type":"integer","minimum":1,"maximum":3}}})"),
        .output_schema = input_schema(R"({"type":"object","properties":{"text":{"type":"string"}}})"),
        .handler = [](mcp::CallContext& c) -> asio::awaitable<mcp::ToolResult> {
          std::string t(c.args().at("text").as_string());
          co_return mcp::ToolResult{json::object{{"text", t}}, t};
        },
    });
    server_.add_tool({
        .name = "slow",
        .title = "Slow",
        .description = "waits ten seconds unless cancelled",
        .input_schema = input_schema(R"({"type":"object","additionalProperties":false,"properties":{}})"),
        .timeout = 60s,
        .handler = [this](mcp::CallContext&) -> asio::awaitable<mcp::ToolResult> {
          slow_started_ = true;
          asio::steady_timer t(co_await asio::this_coro::executor, 10s);
          try {
            co_await t.async_wait(asio::use_awaitable);
          } catch (const boost::system::system_error& e) {
            slow_aborted_ = e.code() == asio::error::operation_aborted;
            throw;
          }
          co_return mcp::ToolResult{{}, "finished"};
        },
    });
    server_.add_tool({
        .name = "stuck",
        .title = "Stuck",
        .description = "never finishes within its timeout",
        .input_schema = input_schema(R"({"type":"object","additionalProperties":false,"properties":{}})"),
        .timeout = 50ms,
        .handler = [](mcp::CallContext&) -> asio::awaitable<mcp::ToolResult> {
          asio::steady_timer t(co_await asio::this_coro::executor, 10s);
          co_await t.async_wait(asio::use_awaitable);
          co_return mcp::ToolResult{{}, "unreachable"};
        },
    });
    server_.add_tool({
        .name = "progress",
        .title = "Progress",
        .description = "reports progress and logs",
        .input_schema = input_schema(R"({"type":"object","additionalProperties":false,"properties":{}})"),
        .handler = [](mcp::CallContext& c) -> asio::awaitable<mcp::ToolResult> {
          c.progress(1, 2, "half");
          c.log("info", "an info line");
          c.log("error", json::object{{"problem", "an error line"}});
          c.progress(2, 2);
          co_return mcp::ToolResult{{}, "done"};
        },
    });
    server_.add_tool({
        .name = "fail",
        .title = "Fail",
        .description = "throws",
        .input_schema = input_schema(R"({"type":"object","additionalProperties":false,"properties":{}})"),
        .output_schema = input_schema(R"({"type":"object"})"),
        .handler = [](mcp::CallContext&) -> asio::awaitable<mcp::ToolResult> {
          mk::fail(mk::Errc::not_found, "pods \"x\" not found");
          co_return mcp::ToolResult{};
        },
    });
  }

  // Runs queued work until nothing is left (bounded).
  void drain(std::chrono::milliseconds max = 5s) {
    io_.restart();
    io_.run_for(max);
  }

  void send(json::value msg) {
    server_.handle(session_, std::move(msg));
    drain();
  }

  // Sends a request and returns the response carrying its id.
  json::object request(json::value id, std::string method, json::object params = {}) {
    json::object msg{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.empty()) msg["params"] = std::move(params);
    send(std::move(msg));
    auto r = response_for(id);
    if (!r) {
      ADD_FAILURE() << "no response to " << method;
      return {};
    }
    return *r;
  }

  std::optional<json::object> response_for(const json::value& id) const {
    for (auto& m : out_)
      if (!m.contains("method") && m.contains("id") && m.at("id") == id) return m;
    return std::nullopt;
  }

  std::vector<json::object> notifications(std::string_view method) const {
    std::vector<json::object> r;
    for (auto& m : out_)
      if (auto* mm = m.if_contains("method"); mm && mm->as_string() == method) r.push_back(m);
    return r;
  }

  void initialize(std::string version = "2025-11-25") {
    auto r = request(0, "initialize",
                     {{"protocolVersion", version},
                      {"capabilities", json::object{}},
                      {"clientInfo", json::object{{"name", "unit"}, {"version", "1"}}}});
    ASSERT_TRUE(r.contains("result")) << json::serialize(r);
    send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  }

  json::object call(json::value id, std::string tool, json::object args = {}, json::object extra = {}) {
    json::object p{{"name", tool}, {"arguments", std::move(args)}};
    for (auto& [k, v] : extra) p[k] = v;
    return request(std::move(id), "tools/call", std::move(p));
  }

  static int error_code(const json::object& r) {
    auto* e = r.if_contains("error");
    return e ? static_cast<int>(e->at("code").as_int64()) : 0;
  }
  static std::string text_of(const json::object& r) {
    return std::string(r.at("result").at("content").at(0).at("text").as_string());
  }
  static bool is_error(const json::object& r) {
    auto* e = r.at("result").as_object().if_contains("isError");
    return e && e->as_bool();
  }

  asio::io_context io_;
  mcp::Server server_;
  std::shared_ptr<mcp::Session> session_;
  std::vector<json::object> out_;
  std::vector<Observed> observed_;
  bool slow_started_ = false;
  bool slow_aborted_ = false;
};

class PagedServerTest : public ServerTest {
 protected:
  PagedServerTest() : ServerTest(mcp::ServerOptions{.tools_page_size = 2, .max_result_text_bytes = 64}) {}
};

}  // namespace

TEST_F(ServerTest, InitializeNegotiatesVersion) {
  int id = 10;
  for (auto v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    auto r = request(id++, "initialize", {{"protocolVersion", v}, {"capabilities", json::object{}}});
    EXPECT_EQ(r.at("result").at("protocolVersion").as_string(), v);
  }
  auto r = request(2, "initialize", {{"protocolVersion", "1999-01-01"}, {"capabilities", json::object{}}});
  EXPECT_EQ(r.at("result").at("protocolVersion").as_string(), "2025-11-25");  // unknown -> our latest
  auto& res = r.at("result").as_object();
  EXPECT_EQ(res.at("serverInfo").at("name").as_string(), "test-server");
  EXPECT_EQ(res.at("serverInfo").at("version").as_string(), "9.9.9");
  EXPECT_TRUE(res.at("capabilities").as_object().contains("tools"));
  EXPECT_TRUE(res.at("capabilities").as_object().contains("logging"));
  EXPECT_EQ(session_->protocol_version, "2025-11-25");

  EXPECT_EQ(error_code(request(3, "initialize", {{"capabilities", json::object{}}})), -32602);
  EXPECT_EQ(error_code(request(4, "initialize", {{"protocolVersion", 20250618}})), -32602);
}

TEST_F(ServerTest, PingWorksBeforeAndAfterInitialize) {
  auto r = request("p1", "ping");
  EXPECT_TRUE(r.at("result").as_object().empty());
  initialize();
  EXPECT_TRUE(request("p2", "ping").at("result").is_object());
}

TEST_F(ServerTest, RequestsBeforeInitializeAreRejected) {
  EXPECT_EQ(error_code(request(1, "tools/list")), -32600);
  auto r = call(2, "echo", {{"text", "hi"}});
  EXPECT_EQ(error_code(r), -32600);
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("initialize"), std::string::npos);
}

TEST_F(ServerTest, UnknownMethod) {
  initialize();
  auto r = request(1, "tools/frobnicate");
  EXPECT_EQ(error_code(r), -32601);
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("tools/frobnicate"), std::string::npos);
  // An unknown notification is ignored: nothing is sent back.
  auto before = out_.size();
  send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/whatever"}});
  EXPECT_EQ(out_.size(), before);
}

TEST_F(ServerTest, InvalidRequests) {
  initialize();
  send(json::object{{"id", 1}, {"method", "ping"}});  // no jsonrpc member
  EXPECT_EQ(error_code(*response_for(1)), -32600);
  send(json::object{{"jsonrpc", "1.0"}, {"id", 2}, {"method", "ping"}});
  EXPECT_EQ(error_code(*response_for(2)), -32600);
  send(json::object{{"jsonrpc", "2.0"}, {"id", 3}, {"method", 42}});
  EXPECT_EQ(error_code(*response_for(3)), -32600);
  send(json::object{{"jsonrpc", "2.0"}, {"id", 4}});
  EXPECT_EQ(error_code(*response_for(4)), -32600);

  auto before = out_.size();
  send(json::object{{"jsonrpc", "2.0"}, {"id", json::object{}}, {"method", "ping"}});  // id must be string/int
  ASSERT_EQ(out_.size(), before + 1);
  EXPECT_TRUE(out_.back().at("id").is_null());
  EXPECT_EQ(error_code(out_.back()), -32600);

  send(json::array{json::object{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "ping"}}});  // batches: not supported
  EXPECT_EQ(error_code(out_.back()), -32600);
  send(json::value("just a string"));
  EXPECT_EQ(error_code(out_.back()), -32600);

  // A response from the client (we sent no request) is dropped silently.
  before = out_.size();
  send(json::object{{"jsonrpc", "2.0"}, {"id", 99}, {"result", json::object{}}});
  EXPECT_EQ(out_.size(), before);
}

TEST_F(ServerTest, ParseErrorKeepsServing) {
  initialize();
  server_.handle_raw(session_, R"({"jsonrpc":"2.0","id":1,"method":)");
  drain();
  ASSERT_FALSE(out_.empty());
  EXPECT_EQ(error_code(out_.back()), -32700);
  EXPECT_TRUE(out_.back().at("id").is_null());
  std::string deep(200, '[');
  server_.handle_raw(session_, deep);  // nesting beyond the parser's limit
  drain();
  EXPECT_EQ(error_code(out_.back()), -32700);
  server_.handle_raw(session_, R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  drain();
  EXPECT_TRUE(response_for(2)->contains("result"));
}

TEST_F(ServerTest, ParamsMustBeAnObject) {
  initialize();
  send(json::object{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}, {"params", json::array{1}}});
  EXPECT_EQ(error_code(*response_for(1)), -32602);
  send(json::object{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}, {"params", "x"}});
  EXPECT_EQ(error_code(*response_for(2)), -32602);
}

TEST_F(ServerTest, ToolsListDescribesTools) {
  initialize();
  auto r = request(1, "tools/list");
  auto& tools = r.at("result").at("tools").as_array();
  ASSERT_EQ(tools.size(), 5u);
  EXPECT_FALSE(r.at("result").as_object().contains("nextCursor"));
  auto& echo = tools[0].as_object();
  EXPECT_EQ(echo.at("name").as_string(), "echo");
  EXPECT_EQ(echo.at("title").as_string(), "Echo");
  EXPECT_EQ(echo.at("inputSchema").at("type").as_string(), "object");
  EXPECT_TRUE(echo.contains("outputSchema"));
  auto& ann = echo.at("annotations").as_object();
  for (auto k : {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"})
    EXPECT_TRUE(ann.at(k).is_bool()) << k;
  EXPECT_FALSE(tools[1].as_object().contains("outputSchema"));  // "slow" declares none
}

TEST_F(PagedServerTest, ToolsListPagesWithCursor) {
  initialize();
  std::vector<std::string> names;
  json::value cursor;
  for (int page = 0; page < 10; ++page) {
    json::object params;
    if (!cursor.is_null()) params["cursor"] = cursor;
    auto r = request(100 + page, "tools/list", params);
    auto& res = r.at("result").as_object();
    EXPECT_LE(res.at("tools").as_array().size(), 2u);
    for (auto& t : res.at("tools").as_array()) names.emplace_back(t.at("name").as_string());
    if (!res.contains("nextCursor")) break;
    cursor = res.at("nextCursor");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"echo", "slow", "stuck", "progress", "fail"}));
}

TEST_F(PagedServerTest, InvalidCursor) {
  initialize();
  for (json::value bad : {json::value("garbage"), json::value("o:999"), json::value("o:x"), json::value(5)}) {
    auto r = request(1, "tools/list", {{"cursor", bad}});
    EXPECT_EQ(error_code(r), -32602) << json::serialize(bad);
    out_.clear();
  }
}

TEST_F(PagedServerTest, OversizedResultBecomesAClearError) {
  initialize();
  auto r = call(1, "echo", {{"text", std::string(200, 'x')}});
  EXPECT_TRUE(is_error(r));
  EXPECT_NE(text_of(r).find("over the 64 byte limit"), std::string::npos) << text_of(r);
}

TEST_F(ServerTest, CallReturnsStructuredAndTextContent) {
  initialize();
  auto r = call(1, "echo", {{"text", "hello"}});
  ASSERT_TRUE(r.contains("result")) << json::serialize(r);
  EXPECT_FALSE(is_error(r));
  EXPECT_EQ(text_of(r), "hello");
  EXPECT_EQ(r.at("result").at("content").at(0).at("type").as_string(), "text");
  EXPECT_EQ(r.at("result").at("structuredContent").at("text").as_string(), "hello");
  ASSERT_EQ(observed_.size(), 1u);
  EXPECT_EQ(observed_[0].tool, "echo");
  EXPECT_EQ(observed_[0].outcome, "success");
}

TEST_F(ServerTest, UnknownToolAndBadCallShapes) {
  initialize();
  auto r = call(1, "nope");
  EXPECT_EQ(error_code(r), -32602);
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("nope"), std::string::npos);
  EXPECT_EQ(error_code(request(2, "tools/call", {{"arguments", json::object{}}})), -32602);  // no name
  EXPECT_EQ(error_code(request(3, "tools/call", {{"name", "echo"}, {"arguments", json::array{}}})), -32602);
}

TEST_F(ServerTest, InvalidArgumentsNameTheArgument) {
  initialize();
  auto missing = call(1, "echo", {});
  EXPECT_TRUE(is_error(missing));
  EXPECT_NE(text_of(missing).find("'text'"), std::string::npos) << text_of(missing);
  auto wrong = call(2, "echo", {{"text", 5}});
  EXPECT_TRUE(is_error(wrong));
  EXPECT_NE(text_of(wrong).find("'text'"), std::string::npos) << text_of(wrong);
  auto range = call(3, "echo", {{"text", "a"}, {"times", 9}});
  EXPECT_NE(text_of(range).find("'times'"), std::string::npos) << text_of(range);
  auto extra = call(4, "echo", {{"text", "a"}, {"colour", "red"}});
  EXPECT_TRUE(is_error(extra));
  EXPECT_NE(text_of(extra).find("'colour'"), std::string::npos) << text_of(extra);
  EXPECT_EQ(text_of(extra).rfind("InvalidArgument: ", 0), 0u) << text_of(extra);
  EXPECT_FALSE(extra.at("result").as_object().contains("structuredContent"));
}

TEST_F(ServerTest, ToolErrorsBecomeIsErrorResults) {
  initialize();
  auto r = call(1, "fail");
  ASSERT_TRUE(r.contains("result"));
  EXPECT_TRUE(is_error(r));
  EXPECT_EQ(text_of(r), "NotFound: pods \"x\" not found");
  EXPECT_FALSE(r.at("result").as_object().contains("structuredContent"));
  EXPECT_EQ(observed_.back().outcome, "error");
}

TEST_F(ServerTest, CancellationStopsTheCallAndSendsNoResponse) {
  initialize();
  server_.handle(session_, json::object{{"jsonrpc", "2.0"},
                                        {"id", "c1"},
                                        {"method", "tools/call"},
                                        {"params", json::object{{"name", "slow"}, {"arguments", json::object{}}}}});
  io_.restart();
  io_.poll();  // the call starts and waits on its timer
  ASSERT_TRUE(slow_started_);
  EXPECT_EQ(session_->inflight.size(), 1u);
  server_.handle(session_, json::object{{"jsonrpc", "2.0"},
                                        {"method", "notifications/cancelled"},
                                        {"params", json::object{{"requestId", "c1"}, {"reason", "user"}}}});
  drain(3s);  // far less than the tool's 10 s wait: only cancellation can end it this soon
  EXPECT_TRUE(slow_aborted_);
  EXPECT_TRUE(session_->inflight.empty());
  EXPECT_FALSE(response_for("c1").has_value()) << "a cancelled request gets no response";
  ASSERT_FALSE(observed_.empty());
  EXPECT_EQ(observed_.back().outcome, "cancelled");
  // Cancelling something unknown or finished is ignored, and the session keeps working.
  send(json::object{
      {"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", json::object{{"requestId", "c1"}}}});
  EXPECT_EQ(text_of(call(2, "echo", {{"text", "still here"}})), "still here");
}

TEST_F(ServerTest, DuplicateInflightIdIsRejected) {
  initialize();
  json::object msg{{"jsonrpc", "2.0"},
                   {"id", 5},
                   {"method", "tools/call"},
                   {"params", json::object{{"name", "slow"}, {"arguments", json::object{}}}}};
  server_.handle(session_, msg);
  io_.restart();
  io_.poll();
  server_.handle(session_, msg);
  ASSERT_FALSE(out_.empty());
  EXPECT_EQ(error_code(out_.back()), -32600);
  session_->cancel_all();
  drain(3s);
  EXPECT_TRUE(session_->inflight.empty());
}

TEST_F(ServerTest, TimeoutBecomesAnError) {
  initialize();
  auto r = call(1, "stuck");
  EXPECT_TRUE(is_error(r));
  EXPECT_EQ(text_of(r).rfind("Timeout: ", 0), 0u) << text_of(r);
  EXPECT_NE(text_of(r).find("stuck"), std::string::npos);
  EXPECT_TRUE(session_->inflight.empty());
}

TEST_F(ServerTest, ProgressNotificationsWhenTokenGiven) {
  initialize();
  auto r = call(1, "progress", {}, {{"_meta", json::object{{"progressToken", "tok-1"}}}});
  EXPECT_FALSE(is_error(r));
  auto p = notifications("notifications/progress");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].at("params").at("progressToken").as_string(), "tok-1");
  EXPECT_EQ(p[0].at("params").at("progress").to_number<double>(), 1.0);
  EXPECT_EQ(p[0].at("params").at("total").to_number<double>(), 2.0);
  EXPECT_EQ(p[0].at("params").at("message").as_string(), "half");
  EXPECT_EQ(p[1].at("params").at("progress").to_number<double>(), 2.0);
  // Notifications precede the response.
  std::size_t last_progress = 0, response = 0;
  for (std::size_t i = 0; i < out_.size(); ++i) {
    if (out_[i].contains("method") && out_[i].at("method").as_string() == "notifications/progress") last_progress = i;
    if (out_[i].contains("id") && out_[i].at("id") == json::value(1)) response = i;
  }
  EXPECT_LT(last_progress, response);

  out_.clear();
  call(2, "progress");
  EXPECT_TRUE(notifications("notifications/progress").empty()) << "no token, no progress";
  out_.clear();
  call(3, "progress", {}, {{"_meta", json::object{{"progressToken", 77}}}});
  ASSERT_EQ(notifications("notifications/progress").size(), 2u);
  EXPECT_EQ(notifications("notifications/progress")[0].at("params").at("progressToken").as_int64(), 77);
}

TEST_F(ServerTest, LoggingSetLevel) {
  initialize();
  call(1, "progress");
  EXPECT_TRUE(notifications("notifications/message").empty()) << "nothing is logged before setLevel";

  EXPECT_TRUE(request(2, "logging/setLevel", {{"level", "error"}}).contains("result"));
  call(3, "progress");
  auto logs = notifications("notifications/message");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].at("params").at("level").as_string(), "error");
  EXPECT_EQ(logs[0].at("params").at("logger").as_string(), "progress");
  EXPECT_EQ(logs[0].at("params").at("data").at("problem").as_string(), "an error line");

  out_.clear();
  request(4, "logging/setLevel", {{"level", "debug"}});
  call(5, "progress");
  EXPECT_EQ(notifications("notifications/message").size(), 2u);

  EXPECT_EQ(error_code(request(6, "logging/setLevel", {{"level", "verbose"}})), -32602);
  EXPECT_EQ(error_code(request(7, "logging/setLevel", {{"level", 3}})), -32602);
  EXPECT_EQ(error_code(request(8, "logging/setLevel")), -32602);
}

TEST(LogLevel, Ranks) {
  EXPECT_EQ(mcp::log_level_rank("debug"), 0);
  EXPECT_LT(mcp::log_level_rank("info"), mcp::log_level_rank("warning"));
  EXPECT_EQ(mcp::log_level_rank("emergency"), 7);
  EXPECT_EQ(mcp::log_level_rank("loud"), -1);
  EXPECT_TRUE(mcp::is_supported_legacy_version("2025-06-18"));
  EXPECT_FALSE(mcp::is_supported_legacy_version("2024-11-05"));
}

// --- 2026-07-28 era: stateless requests carrying _meta --------------------------------------

json::object modern_meta(json::object extra = {}) {
  json::object m{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                 {"io.modelcontextprotocol/clientCapabilities", json::object{}}};
  for (auto& [k, v] : extra) m[k] = v;
  return m;
}

TEST_F(ServerTest, ModernDiscoverWithoutInitialize) {
  auto r = request(1, "server/discover", {{"_meta", modern_meta()}});
  ASSERT_TRUE(r.contains("result")) << json::serialize(r);
  auto& res = r.at("result").as_object();
  EXPECT_EQ(res.at("supportedVersions").as_array().at(0), "2026-07-28");
  EXPECT_TRUE(res.at("capabilities").as_object().contains("tools"));
  EXPECT_EQ(res.at("resultType"), "complete");
  EXPECT_EQ(res.at("cacheScope"), "public");
  EXPECT_GE(res.at("ttlMs").as_int64(), 0);
  EXPECT_EQ(res.at("_meta").at("io.modelcontextprotocol/serverInfo").at("name"), "test-server");
}

TEST_F(ServerTest, ModernMetaIsValidated) {
  EXPECT_EQ(error_code(request(1, "server/discover")), -32602);  // no _meta at all
  json::object no_caps{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}};
  EXPECT_EQ(error_code(request(2, "tools/list", {{"_meta", no_caps}})), -32602);
  EXPECT_EQ(
      error_code(request(3, "tools/list", {{"_meta", modern_meta({{"io.modelcontextprotocol/logLevel", "loud"}})}})),
      -32602);
  auto r =
      request(4, "tools/list", {{"_meta", modern_meta({{"io.modelcontextprotocol/protocolVersion", "2099-01-01"}})}});
  ASSERT_EQ(error_code(r), -32022) << json::serialize(r);
  EXPECT_EQ(r.at("error").at("data").at("requested"), "2099-01-01");
  EXPECT_EQ(r.at("error").at("data").at("supported").as_array().at(0), "2026-07-28");
  EXPECT_EQ(r.at("id"), 4);
}

TEST_F(ServerTest, ModernRemovedMethodsAreNotFound) {
  for (const char* m : {"initialize", "ping", "logging/setLevel", "resources/subscribe", "no/such"})
    EXPECT_EQ(error_code(request(m, m, {{"_meta", modern_meta()}})), -32601) << m;
}

TEST_F(ServerTest, ModernListsCarryCachingHintsAndResultType) {
  for (const char* m : {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}) {
    auto r = request(m, m, {{"_meta", modern_meta()}});
    ASSERT_TRUE(r.contains("result")) << m << json::serialize(r);
    EXPECT_EQ(r.at("result").at("resultType"), "complete") << m;
    EXPECT_TRUE(r.at("result").as_object().contains("ttlMs")) << m;
  }
  auto missing = request(9, "resources/read", {{"uri", "k8s://nope"}, {"_meta", modern_meta()}});
  EXPECT_EQ(error_code(missing), -32602);
  EXPECT_EQ(missing.at("error").at("data").at("uri"), "k8s://nope");
}

TEST_F(ServerTest, ModernToolCallLogsOnlyAtTheRequestedLevel) {
  auto r = call(1, "progress", {}, {{"_meta", modern_meta()}});
  ASSERT_TRUE(r.contains("result")) << json::serialize(r);
  EXPECT_EQ(r.at("result").at("resultType"), "complete");
  EXPECT_TRUE(notifications("notifications/message").empty()) << "no logLevel, no log messages";
  call(2, "progress", {}, {{"_meta", modern_meta({{"io.modelcontextprotocol/logLevel", "error"}})}});
  auto logs = notifications("notifications/message");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].at("params").at("level"), "error");
}

TEST_F(ServerTest, ModernAndLegacyOnOneSession) {
  initialize();
  auto legacy = request(1, "tools/list");
  EXPECT_FALSE(legacy.at("result").as_object().contains("resultType"));
  auto modern = request(2, "tools/list", {{"_meta", modern_meta()}});
  EXPECT_EQ(modern.at("result").at("resultType"), "complete");
}
