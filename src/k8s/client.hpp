#pragma once
// A Kubernetes API client for one context: JSON requests with Status errors mapped, cached
// discovery (refreshed on a miss), and URL building for any resource.
#include "k8s/api_transport.hpp"
#include "k8s/discovery.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace mk::k8s {

namespace json = boost::json;

// Query parameters, appended URL-encoded in order.
using Query = std::vector<std::pair<std::string, std::string>>;

class Client {
 public:
  Client(boost::asio::any_io_executor ex, RestConfig cfg, TransportOptions opts);
  // This client (same connections and caches) sending its requests as children of `parent`,
  // a tool call's span: one handle per call, cheap to make. See instrumentation/trace.hpp for
  // why the span travels with the handle and not in a thread-local.
  std::shared_ptr<Client> with_trace(trace::SpanContext parent) const;
  const trace::SpanContext& trace_parent() const { return trace_; }

  ApiTransport& transport() { return shared_->transport; }
  const RestConfig& config() const { return shared_->transport.config(); }
  const std::string& default_namespace() const { return shared_->transport.config().namespace_; }

  // Raw request; throws mk::Error for non-2xx statuses.
  boost::asio::awaitable<Response> call(Request r, std::string_view what = {});
  // call() + parse_api_json_async(): big answers are parsed off the I/O thread.
  boost::asio::awaitable<json::value> call_json(Request r, std::string_view what = {});
  boost::asio::awaitable<json::value> get_json(std::string path, Query q = {});
  boost::asio::awaitable<json::value> send_json(boost::beast::http::verb verb, std::string path, Query q,
                                                std::string body, std::string content_type);

  // Discovery; `refresh` forces a reload. Cached for ten minutes otherwise.
  boost::asio::awaitable<std::shared_ptr<const DiscoveryDoc>> discovery(bool refresh = false);
  // Resolves a resource type, refreshing discovery once on a miss (new CRDs).
  boost::asio::awaitable<ResourceInfo> resolve(std::string type, std::string api_group);

  static std::string path_for(const ResourceInfo& r, std::string_view ns, std::string_view name = {},
                              std::string_view subresource = {});
  static std::string with_query(std::string path, const Query& q);

 private:
  struct Shared {
    Shared(boost::asio::any_io_executor ex, RestConfig cfg, TransportOptions opts)
        : transport(std::move(ex), std::move(cfg), opts) {}
    ApiTransport transport;
    std::shared_ptr<const DiscoveryDoc> discovery;  // shared: callers keep a snapshot across refreshes
    std::chrono::steady_clock::time_point discovered_at{};
  };
  std::shared_ptr<Shared> shared_;
  trace::SpanContext trace_;
};

// Throws Errc::invalid_argument unless `v` can be one segment of an API path.
void check_path_segment(std::string_view what, std::string_view v);
std::string url_encode(std::string_view s);

// Bodies from this size on are parsed / serialised on the compute pool (util/blocking.hpp):
// parsing a list of thousands of objects holds the I/O thread, and every other session, for that long.
inline constexpr std::size_t kOffloadParseBytes = 256 * 1024;
// Nesting allowed in API answers: CRD schemas nest deeply, but no object needs more.
inline constexpr int kMaxApiJsonDepth = 256;

// Parses an API answer with the depth bound; Errc::unavailable with a clear message otherwise.
json::value parse_api_json(std::string_view body);
boost::asio::awaitable<json::value> parse_api_json_async(std::string body);
// json::serialize(v), on the compute pool when v is big. `v` must stay alive until it returns.
boost::asio::awaitable<std::string> serialize_off_thread(const json::value& v);

}  // namespace mk::k8s
