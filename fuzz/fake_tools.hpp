#pragma once
// A few fake tools for the dispatch fuzz targets: every handler finishes without waiting on
// time, so an input's io_context run ends as soon as its messages are handled.
#include "mcp/server.hpp"
#include "util/error.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <string>

namespace fuzz {

inline boost::json::object schema(const char* text) { return boost::json::parse(text).as_object(); }

inline void add_fake_tools(mcp::Server& server) {
  namespace asio = boost::asio;
  namespace json = boost::json;
  server.add_tool({
      .name = "echo",
      .title = "Echo",
      .description = "echoes text, with progress and log messages",
      .input_schema = schema(R"({"type":"object","additionalProperties":false,"required":["text"],
          "properties":{"text":{"type":"string","maxLength":64},"times":{"type":"integer","minimum":1,"maximum":3},
          "mode":{"type":"string","enum":["a","b"]},"tags":{"type":"array","items":{"type":"string"},"maxItems":4}}})"),
      .output_schema = schema(R"({"type":"object","properties":{"text":{"type":"string"}}})"),
      .handler = [](mcp::CallContext& c) -> asio::awaitable<mcp::ToolResult> {
        std::string t(c.args().at("text").as_string());
        c.progress(1, 2, "half");
        c.log("info", json::string(t));
        // Yield once so cancellations and duplicate ids meet a call in flight.
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        c.progress(2, 2);
        co_return mcp::ToolResult{json::object{{"text", t}}, t};
      },
  });
  server.add_tool({
      .name = "fail",
      .title = "Fail",
      .description = "throws the error it is given",
      .input_schema = schema(R"({"type":"object","properties":{"kind":{"type":["string","integer"]}}})"),
      .handler = [](mcp::CallContext& c) -> asio::awaitable<mcp::ToolResult> {
        auto* k = c.args().if_contains("kind");
        if (k && k->is_string() && k->as_string() == "std") throw std::runtime_error("boom");
        if (k && k->is_int64()) mk::fail(mk::Errc::not_found, "nothing here");
        co_return mcp::ToolResult{{}, "failed", true};
      },
  });
  server.add_tool({
      .name = "big",
      .title = "Big",
      .description = "returns a long text (over the result cap when asked)",
      .input_schema = schema(R"({"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":4096}}})"),
      .handler = [](mcp::CallContext& c) -> asio::awaitable<mcp::ToolResult> {
        auto* n = c.args().if_contains("n");
        std::size_t len = n && n->is_int64() ? static_cast<std::size_t>(n->as_int64()) : 10;
        co_return mcp::ToolResult{{}, std::string(len, 'x')};
      },
  });
}

}  // namespace fuzz
