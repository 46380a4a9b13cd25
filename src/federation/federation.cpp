#include "federation/federation.hpp"

#include "federation/workload_kubeconfig.hpp"
#include "instrumentation/metrics.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace mk::federation {
namespace json = boost::json;

Federation::Federation(boost::asio::any_io_executor ex, Options o, std::function<std::shared_ptr<k8s::Client>()> mc)
    : ex_(std::move(ex)), opts_(std::move(o)), mc_(std::move(mc)), cache_(opts_.cache_max_entries, opts_.cache_ttl),
      access_([this](json::object body) { return review(std::move(body)); }, opts_.access_max_entries,
              opts_.access_ttl) {
  auto& m = metrics::Registry::global();
  m.set("mcp_kubernetes_wc_auth_mode", {{"mode", mode_name()}}, 1);
  // Present from the start (at 0), so a dashboard's rate() has a series before the first check.
  for (const char* r : {"allowed", "denied", "error"})
    m.inc("mcp_kubernetes_capi_access_reviews_total", {{"result", r}}, 0);
  for (const char* r : {"hit", "miss", "shared"}) m.inc("mcp_kubernetes_capi_access_cache_total", {{"result", r}}, 0);
}

std::string Federation::mode_name() const {
  if (opts_.mode == AuthMode::sso_passthrough) return "sso-passthrough";
  return opts_.oauth ? "impersonation" : "local";
}

std::string Federation::describe(const Identity& who) const {
  if (opts_.mode == AuthMode::sso_passthrough)
    return fmt::format("as {} via SSO", who.email.empty() ? who.subject : who.email);
  if (!opts_.oauth) return "local credentials";
  return fmt::format("impersonating {}", who.email.empty() ? who.subject : who.email);
}

boost::asio::awaitable<k8s::ResourceInfo> Federation::cluster_resource(std::shared_ptr<k8s::Client> mc) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto doc = co_await mc->discovery(attempt > 0);
    const k8s::ResourceInfo* best = nullptr;
    auto rank = [](const std::string& v) { return v == "v1beta2" ? 2 : v == "v1beta1" ? 1 : 0; };
    for (auto& r : doc->resources) {
      if (r.group != "cluster.x-k8s.io" || r.plural != "clusters") continue;
      if (!best || rank(r.version) > rank(best->version)) best = &r;
    }
    if (best && rank(best->version) > 0) co_return *best;
  }
  fail(Errc::not_found,
       "the management cluster serves no Cluster API clusters (cluster.x-k8s.io/v1beta2 or v1beta1); is CAPI "
       "installed?");
}

boost::asio::awaitable<std::vector<ClusterInfo>> Federation::list_all(std::string label_selector) {
  auto now = std::chrono::steady_clock::now();
  if (label_selector.empty() && have_list_ && now - listed_at_ < opts_.list_ttl) co_return listed_;
  auto mc = mc_();
  auto res = co_await cluster_resource(mc);
  k8s::Query q;
  if (!label_selector.empty()) q.emplace_back("labelSelector", label_selector);
  // A fleet is hundreds of clusters, not tens of thousands; the answer is bounded by
  // --max-api-response-bytes like every list.
  auto path = k8s::Client::path_for(res, "");
  auto v = co_await mc->get_json(std::move(path), std::move(q));
  std::vector<ClusterInfo> out;
  if (auto* items = v.is_object() ? v.as_object().if_contains("items") : nullptr; items && items->is_array())
    for (auto& it : items->as_array())
      if (it.is_object()) out.push_back(derive_cluster(it.as_object()));
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return std::tie(a.ns, a.name) < std::tie(b.ns, b.name); });
  if (label_selector.empty()) {
    listed_ = out;
    listed_at_ = std::chrono::steady_clock::now();
    have_list_ = true;
  }
  co_return out;
}

const ClusterInfo& Federation::pick(const std::vector<ClusterInfo>& all, const std::string& name,
                                    const std::string& ns) {
  std::vector<const ClusterInfo*> hits;
  for (auto& c : all)
    if (c.name == name && (ns.empty() || c.ns == ns)) hits.push_back(&c);
  if (hits.empty()) {
    if (ns.empty())
      fail(Errc::not_found, fmt::format("cluster \"{}\" not found; capi_list_clusters lists the clusters", name));
    fail(Errc::not_found,
         fmt::format("cluster \"{}\" not found in namespace \"{}\"; capi_list_clusters lists the clusters", name, ns));
  }
  if (hits.size() > 1) {
    std::string nss;
    for (auto* h : hits) nss += (nss.empty() ? "" : ", ") + h->ns;
    fail(Errc::invalid_argument,
         fmt::format("cluster name \"{}\" is ambiguous: it exists in namespaces {}; name one as \"{}/{}\"", name, nss,
                     hits.front()->ns, name));
  }
  return *hits.front();
}

bool Federation::checks_access(const Identity& who) const {
  return opts_.access == AccessCheck::rbac && (opts_.oauth || who.authenticated());
}

AccessSubject Federation::access_subject_of(const Identity& who) const {
  if (!who.authenticated())
    fail(Errc::unauthorized, "this call has no signed-in user; workload clusters are shown and reached only for one");
  return access_subject(who);
}

std::shared_ptr<k8s::Client> Federation::review_client() {
  if (!review_client_) {
    auto mc = mc_();
    if (!mc) fail(Errc::unavailable, "no management cluster client to send access reviews with");
    review_client_ = std::make_shared<k8s::Client>(ex_, mc->config(), opts_.review_transport);
  }
  return review_client_;
}

boost::asio::awaitable<json::value> Federation::review(json::object body) {
  auto mc = review_client();
  auto text = json::serialize(body);
  std::string path = "/apis/authorization.k8s.io/v1/subjectaccessreviews", content_type = "application/json";
  k8s::Query none;
  co_return co_await mc->send_json(boost::beast::http::verb::post, std::move(path), std::move(none), std::move(text),
                                   std::move(content_type));
}

namespace {
// A review that could not be made. Its details name namespaces and clusters the caller may not
// see (a hidden cluster's namespace would tell it exists), so they go to the server's log for the
// operator, and the caller learns only that the check failed.
[[noreturn]] void access_check_failed(std::string_view what, const std::string& details) {
  log::warn("{}", details);
  fail(
      Errc::unavailable,
      fmt::format("{}: the access check on Cluster objects could not be made (the server's log has the reason)", what));
}
}  // namespace

boost::asio::awaitable<std::vector<ClusterInfo>> Federation::list(std::string label_selector, Identity who) {
  // The subject first: a call that cannot be checked lists nothing, not even the server's view.
  std::optional<AccessSubject> subject;
  if (checks_access(who)) subject = access_subject_of(who);
  auto all = co_await list_all(std::move(label_selector));
  if (!subject) co_return all;
  std::vector<ClusterInfo> mine;
  std::string failure;
  try {
    mine = co_await access_.visible(std::move(*subject), std::move(all));
  } catch (const Error& e) {
    if (e.code() == Errc::too_large) throw;  // the per-call cap: names nothing, says what to do
    failure = e.what();
  }
  if (!failure.empty()) access_check_failed("listing clusters", failure);
  co_return mine;
}

boost::asio::awaitable<ClusterInfo> Federation::find(std::string name, std::string ns, Identity who) {
  auto budget = std::make_shared<AccessBudget>();
  co_return co_await find(std::move(name), std::move(ns), std::move(who), std::move(budget));
}

boost::asio::awaitable<ClusterInfo> Federation::find(std::string name, std::string ns, Identity who,
                                                     std::shared_ptr<AccessBudget> budget) {
  std::optional<AccessSubject> subject;
  if (checks_access(who)) subject = access_subject_of(who);
  std::string everything;  // named: no temporaries inside co_await (g++ 12)
  auto all = co_await list_all(std::move(everything));
  if (!subject) co_return pick(all, name, ns);
  // Only clusters the user may see are candidates: one they may not see is not there for them
  // (and does not make the name ambiguous). The questions asked do not depend on whether the
  // name exists, so neither the answer nor its cost tells a hidden cluster from a missing one.
  std::vector<ClusterInfo> mine;
  std::string failure;
  try {
    mine = co_await access_.named(std::move(*subject), std::move(all), name, ns, std::move(budget));
  } catch (const Error& e) {
    if (e.code() == Errc::too_large) throw;  // the per-call cap: names nothing, says what to do
    failure = e.what();
  }
  // Naming nothing but the name the caller gave (not the namespace of a cluster they may not see).
  if (!failure.empty()) access_check_failed(fmt::format("cluster \"{}\"", name), failure);
  co_return pick(mine, name, ns);
}

CacheKey Federation::cache_key(const ClusterInfo& c, const Identity& who) const {
  return {.cluster_ns = c.ns,
          .cluster_name = c.name,
          .subject = who.subject,
          .email = who.email,
          .groups = map_groups(opts_.group_mappings, who.groups),
          .token_hash = who.upstream_token.empty() ? std::string() : sha256_hex(who.upstream_token),
          .mode = mode_name()};
}

namespace {
// Values that become HTTP header values: no control characters (a CR/LF would start a new
// header), bounded as the original bounds them.
void check_header_value(std::string_view what, std::string_view v, std::size_t max) {
  bool ok = !v.empty() && v.size() <= max && std::none_of(v.begin(), v.end(), [](char ch) {
    return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
  });
  if (!ok)
    fail(Errc::unauthorized, fmt::format("the signed-in user's {} cannot be impersonated (empty, over {} characters, "
                                         "or with control characters)",
                                         what, max));
}
}  // namespace

void Federation::impersonate(k8s::RestConfig& rc, const Identity& who) const {
  refuse_unverified(who);
  check_header_value("e-mail", who.email, 254);
  check_header_value("subject", who.subject, 1024);
  for (auto& g : who.groups) check_header_value("group", g, 256);
  rc.auth.impersonate = who.email;
  rc.auth.impersonate_groups = map_groups(opts_.group_mappings, who.groups);
  rc.auth.impersonate_extra = {{"agent", "mcp-kubernetes"}};
  if (!who.subject.empty()) rc.auth.impersonate_extra.emplace_back("sub", who.subject);
}

namespace {
// spec.controlPlaneEndpoint.host as one URL authority: a DNS name or an IP literal, nothing else.
std::string endpoint_url(const ClusterInfo& c) {
  auto& h = c.endpoint_host;
  bool ok = !h.empty() && h.size() <= 253 && std::all_of(h.begin(), h.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':';
  });
  if (!ok) fail(Errc::invalid_argument, "the Cluster has no usable spec.controlPlaneEndpoint.host");
  if (h.find(':') != std::string::npos) return fmt::format("https://[{}]:{}", h, c.endpoint_port);
  return fmt::format("https://{}:{}", h, c.endpoint_port);
}
}  // namespace

boost::asio::awaitable<k8s::RestConfig> Federation::rest_config(const ClusterInfo& c, const Identity& who) {
  auto mc = mc_();
  if (opts_.mode == AuthMode::sso_passthrough) {
    if (who.upstream_token.empty())
      fail(Errc::unauthorized, "SSO passthrough needs the caller's ID token and this call has none (sign in again)");
    auto path = fmt::format("/api/v1/namespaces/{}/configmaps/{}", k8s::url_encode(c.ns),
                            k8s::url_encode(c.name + opts_.ca_configmap_suffix));
    k8s::Query none;  // not the default argument: g++ 12 destroys those twice in coroutines
    auto cm = co_await mc->get_json(std::move(path), std::move(none));
    const json::value* ca = nullptr;
    if (auto* d = cm.is_object() ? cm.as_object().if_contains("data") : nullptr; d && d->is_object())
      ca = d->as_object().if_contains("ca.crt");
    if (!ca || !ca->is_string() || ca->as_string().empty())
      fail(Errc::not_found, fmt::format("ConfigMap {}{} has no ca.crt", c.name, opts_.ca_configmap_suffix));
    k8s::RestConfig rc;
    rc.context = "cluster/" + c.name;
    rc.cluster.server = endpoint_url(c);
    rc.cluster.ca_pem = std::string(ca->as_string());
    rc.auth.token = who.upstream_token;
    co_return rc;
  }
  auto path =
      fmt::format("/api/v1/namespaces/{}/secrets/{}", k8s::url_encode(c.ns), k8s::url_encode(c.name + "-kubeconfig"));
  k8s::Query none;
  auto secret = co_await mc->get_json(std::move(path), std::move(none));
  if (!secret.is_object()) fail(Errc::invalid_argument, "the kubeconfig Secret is not an object");
  k8s::RestConfig rc;
  try {
    rc = parse_workload_kubeconfig(kubeconfig_from_secret(secret.as_object()));
  } catch (const Error& e) {
    // Refusals name a field; a YAML error could quote a value of the Secret (a credential).
    if (e.code() == Errc::policy_denied || e.code() == Errc::not_found) throw;
    fail(e.code(), fmt::format("Secret {}-kubeconfig does not hold a usable kubeconfig", c.name));
  }
  rc.context = "cluster/" + c.name;
  if (opts_.oauth) impersonate(rc, who);
  co_return rc;
}

boost::asio::awaitable<std::shared_ptr<k8s::Client>> Federation::client(ClusterInfo c, Identity who) {
  if (opts_.oauth && !who.authenticated())
    fail(Errc::unauthorized, fmt::format("cluster {}: this call has no signed-in user; workload clusters are reached "
                                         "only for one",
                                         c.name));
  if (opts_.oauth && opts_.mode == AuthMode::impersonation && who.email.empty())
    fail(Errc::unauthorized,
         fmt::format("cluster {}: the signed-in user has no e-mail address to impersonate", c.name));
  // Before the cache: a client made for an earlier, verified sign-in is not reused either.
  if (opts_.oauth && opts_.mode == AuthMode::impersonation) refuse_unverified(who);
  auto key = cache_key(c, who);
  if (auto hit = cache_.get(key)) co_return hit;
  k8s::RestConfig rc;
  std::exception_ptr err;
  try {
    rc = co_await rest_config(c, who);
  } catch (...) {
    err = std::current_exception();
  }
  if (err) {
    try {
      std::rethrow_exception(err);
    } catch (const Error& e) {
      fail(e.code(), fmt::format("{} (cluster {}, {})", e.what(), c.name, describe(who)));
    }
  }
  auto client = std::make_shared<k8s::Client>(ex_, std::move(rc), opts_.transport);
  cache_.put(key, client);
  co_return client;
}

}  // namespace mk::federation
