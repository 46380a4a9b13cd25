#include "k8s/client.hpp"

#include "k8s/status_error.hpp"
#include "util/blocking.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>
#include <boost/asio/use_awaitable.hpp>

namespace mk::k8s {
namespace asio = boost::asio;
namespace http = boost::beast::http;

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

Client::Client(asio::any_io_executor ex, RestConfig cfg, TransportOptions opts)
    : shared_(std::make_shared<Shared>(std::move(ex), std::move(cfg), opts)) {}

std::shared_ptr<Client> Client::with_trace(trace::SpanContext parent) const {
  auto c = std::make_shared<Client>(*this);
  c->trace_ = std::move(parent);
  return c;
}

std::string Client::with_query(std::string path, const Query& q) {
  char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (auto& [k, v] : q) {
    path += sep;
    path += url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return path;
}

void check_path_segment(std::string_view what, std::string_view v) {
  // The API server decodes %2F before routing, so encoding is no defence against a name that
  // walks the path (`ns/configmaps/x`, `node/proxy/...`); the pipeline refuses these first.
  if (v.empty() || v == "." || v == ".." || v.find_first_of("/%") != std::string_view::npos)
    fail(Errc::invalid_argument, fmt::format("{} \"{}\" cannot be part of an API path", what, v.substr(0, 64)));
}

std::string Client::path_for(const ResourceInfo& r, std::string_view ns, std::string_view name, std::string_view sub) {
  if (r.namespaced && !ns.empty()) check_path_segment("namespace", ns);
  if (!name.empty()) check_path_segment("name", name);
  std::string p = r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + url_encode(ns);
  p += "/" + r.plural;
  if (!name.empty()) p += "/" + url_encode(name);
  if (!sub.empty()) p += "/" + std::string(sub);
  return p;
}

asio::awaitable<Response> Client::call(Request r, std::string_view what) {
  if (!r.trace.valid()) r.trace = trace_;
  auto res = co_await shared_->transport.send(std::move(r));
  if (res.status < 200 || res.status >= 300) throw_status(res, what);
  co_return res;
}

json::value parse_api_json(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = kMaxApiJsonDepth;
  auto v = json::parse(body, ec, {}, po);
  if (ec == json::error::too_deep)
    fail(Errc::unavailable, fmt::format("API server sent JSON nested deeper than {} levels", kMaxApiJsonDepth));
  if (ec) fail(Errc::unavailable, fmt::format("API server sent invalid JSON ({})", ec.message()));
  return v;
}

asio::awaitable<json::value> parse_api_json_async(std::string body) {
  if (body.size() < kOffloadParseBytes) co_return parse_api_json(body);
  auto job = [b = std::move(body)] { return parse_api_json(b); };  // named: see blocking.hpp
  co_return co_await offload(std::move(job));
}

namespace {
// Counts nodes up to `budget`; true when the value has more (worth a thread hop to serialise).
bool bigger_than(const json::value& v, std::size_t& budget) {
  if (budget == 0) return true;
  --budget;
  if (v.is_object()) {
    for (auto& kv : v.get_object())
      if (bigger_than(kv.value(), budget)) return true;
  } else if (v.is_array()) {
    for (auto& x : v.get_array())
      if (bigger_than(x, budget)) return true;
  } else if (v.is_string() && v.get_string().size() > kOffloadParseBytes) {
    return true;
  }
  return false;
}
}  // namespace

asio::awaitable<std::string> serialize_off_thread(const json::value& v) {
  std::size_t budget = 4096;
  if (!bigger_than(v, budget)) co_return json::serialize(v);
  auto job = [p = &v] { return json::serialize(*p); };  // v outlives the wait: the caller is suspended
  co_return co_await offload(std::move(job));
}

asio::awaitable<json::value> Client::call_json(Request r, std::string_view what) {
  auto res = co_await call(std::move(r), what);
  co_return co_await parse_api_json_async(std::move(res.body));
}

asio::awaitable<json::value> Client::get_json(std::string path, Query q) {
  Request r;
  r.target = with_query(std::move(path), q);
  co_return co_await call_json(std::move(r));
}

asio::awaitable<json::value> Client::send_json(http::verb verb, std::string path, Query q, std::string body,
                                               std::string content_type) {
  Request r;
  r.method = verb;
  r.target = with_query(std::move(path), q);
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  co_return co_await call_json(std::move(r));
}

asio::awaitable<std::shared_ptr<const DiscoveryDoc>> Client::discovery(bool refresh) {
  auto now = std::chrono::steady_clock::now();
  if (shared_->discovery && !refresh && now - shared_->discovered_at < std::chrono::minutes(10))
    co_return shared_->discovery;
  auto doc = std::make_shared<DiscoveryDoc>();
  const char* agg_accept =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
  for (const char* root : {"/api", "/apis"}) {
    Request r;
    r.target = root;
    r.accept = agg_accept;
    auto res = co_await call(std::move(r));
    auto v = co_await parse_api_json_async(res.body);
    if (res.content_type.find("apidiscovery.k8s.io") != std::string::npos) {
      parse_aggregated(v, *doc);
      doc->aggregated = true;
      continue;
    }
    // Legacy discovery: one request per group version.
    if (std::string_view(root) == "/api") {
      auto rl = co_await get_json("/api/v1");
      parse_resource_list(rl, "", "v1", true, *doc);
    } else if (auto* groups = v.is_object() ? v.as_object().if_contains("groups") : nullptr;
               groups && groups->is_array()) {
      auto text = [](const json::value* o, const char* k) {
        auto* v = o && o->is_object() ? o->as_object().if_contains(k) : nullptr;
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      for (auto& g : groups->as_array()) {
        std::string name = text(&g, "name");
        auto* versions = g.is_object() ? g.as_object().if_contains("versions") : nullptr;
        if (name.empty() || !versions || !versions->is_array()) continue;
        std::string pref = text(g.as_object().if_contains("preferredVersion"), "version");
        for (auto& ver : versions->as_array()) {
          std::string vv = text(&ver, "version");
          if (vv.empty()) continue;
          try {
            auto rl = co_await get_json("/apis/" + name + "/" + vv);
            parse_resource_list(rl, name, vv, vv == pref, *doc);
          } catch (const Error& e) {
            // An unavailable aggregated API; named in the trace of the call that noticed it.
            log::warn("discovery of {}/{} failed: {}{}", name, vv, e.what(), trace::log_fields(trace_));
          }
        }
      }
    }
  }
  shared_->discovery = std::move(doc);
  shared_->discovered_at = now;
  co_return shared_->discovery;
}

asio::awaitable<ResourceInfo> Client::resolve(std::string type, std::string api_group) {
  auto d = co_await discovery();
  try {
    co_return resolve_resource(*d, type, api_group);
  } catch (const Error& e) {
    if (e.code() != Errc::not_found) throw;
  }
  // Maybe a CRD installed after we last looked. Aggregated discovery is two requests, so it is
  // always refreshed; the per-group legacy walk at most every few seconds (typos must not
  // turn into request storms).
  if (!d->aggregated && std::chrono::steady_clock::now() - shared_->discovered_at < std::chrono::seconds(5))
    co_return resolve_resource(*d, type, api_group);
  auto d2 = co_await discovery(true);
  co_return resolve_resource(*d2, type, api_group);
}

}  // namespace mk::k8s
