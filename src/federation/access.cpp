#include "federation/access.hpp"

#include "federation/client_cache.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

namespace mk::federation {
namespace json = boost::json;

namespace {
// Values that become names in a review: bounded, no control characters (as the impersonation
// headers are checked).
bool sane(std::string_view v, std::size_t max) {
  return !v.empty() && v.size() <= max &&
         std::none_of(v.begin(), v.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}
}  // namespace

void refuse_unverified(const Identity& who) {
  if (who.email_verified == false)
    fail(Errc::unauthorized,
         fmt::format("the identity provider says the e-mail {} is not verified (email_verified: false); it is neither "
                     "impersonated nor used to reach workload clusters",
                     who.email));
}

AccessSubject access_subject(const Identity& who) {
  refuse_unverified(who);
  if (who.email.empty())
    fail(Errc::unauthorized,
         "the signed-in user has no e-mail address; the management cluster's RBAC on Cluster objects is asked by it");
  if (!sane(who.email, 254)) fail(Errc::unauthorized, "the signed-in user's e-mail is not a usable user name");
  AccessSubject s;
  s.user = who.email;
  for (auto& g : who.groups) {
    if (!sane(g, 256)) fail(Errc::unauthorized, "a group of the signed-in user is not a usable group name");
    if (!g.starts_with("system:")) s.groups.push_back(g);
  }
  s.groups.push_back("system:authenticated");
  std::sort(s.groups.begin(), s.groups.end());
  s.groups.erase(std::unique(s.groups.begin(), s.groups.end()), s.groups.end());
  return s;
}

json::object review_body(const AccessSubject& s, const AccessQuery& q) {
  json::object attrs{{"group", "cluster.x-k8s.io"}, {"resource", "clusters"}, {"verb", q.verb}, {"namespace", q.ns}};
  if (!q.name.empty()) attrs["name"] = q.name;
  json::array groups(s.groups.begin(), s.groups.end());
  return {{"apiVersion", "authorization.k8s.io/v1"},
          {"kind", "SubjectAccessReview"},
          {"spec", json::object{{"user", s.user}, {"groups", std::move(groups)}, {"resourceAttributes", attrs}}}};
}

bool review_allowed(const json::value& answer) {
  const json::object* status = nullptr;
  if (answer.is_object())
    if (auto* st = answer.as_object().if_contains("status"); st && st->is_object()) status = &st->as_object();
  if (!status) fail(Errc::unavailable, "the SubjectAccessReview answer has no status");
  auto flag = [&](std::string_view k) {
    auto* v = status->if_contains(k);
    return v && v->is_bool() && v->as_bool();
  };
  return flag("allowed") && !flag("denied");
}

std::string describe(const AccessSubject& s, const AccessQuery& q) {
  return fmt::format("{} clusters.cluster.x-k8s.io {}{}{} for {}", q.verb, q.ns, q.name.empty() ? "" : "/", q.name,
                     s.user);
}

AccessCache::AccessCache(std::size_t max_entries, std::chrono::milliseconds ttl, Clock clock)
    : max_(std::max<std::size_t>(1, max_entries)), ttl_(ttl), clock_(std::move(clock)) {}

AccessCache::Key AccessCache::key(const AccessSubject& s, const AccessQuery& q) {
  // Names hold no control characters (access_subject), so '\n' separates them unambiguously.
  std::string who = s.user;
  for (auto& g : s.groups) who += '\n' + g;
  return {sha256_hex(who), q};
}

std::optional<bool> AccessCache::get(const AccessSubject& s, const AccessQuery& q) {
  auto it = map_.find(key(s, q));
  if (it == map_.end()) return std::nullopt;
  if (now() - it->second.made >= ttl_) {
    lru_.erase(it->second.lru);
    map_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.allowed;
}

void AccessCache::put(const AccessSubject& s, const AccessQuery& q, bool allowed) {
  auto k = key(s, q);
  if (auto it = map_.find(k); it != map_.end()) {
    lru_.erase(it->second.lru);
    map_.erase(it);
  }
  while (map_.size() >= max_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(k);
  map_.emplace(std::move(k), Entry{allowed, now(), lru_.begin()});
}

AccessChecker::AccessChecker(Review review, std::size_t max_entries, std::chrono::milliseconds ttl,
                             AccessCache::Clock clock)
    : review_(std::move(review)), cache_(max_entries, ttl, std::move(clock)) {}

boost::asio::awaitable<bool> AccessChecker::allowed(AccessSubject s, AccessQuery q) {
  if (auto hit = cache_.get(s, q)) co_return *hit;
  auto body = review_body(s, q);
  ++reviews_;
  json::value answer;
  std::string failure;
  Errc code = Errc::unavailable;
  try {
    answer = co_await review_(std::move(body));
  } catch (const Error& e) {
    failure = e.what();
    code = e.code();
  } catch (const boost::system::system_error& e) {
    if (e.code() == boost::asio::error::operation_aborted) throw;  // the call was cancelled
    failure = e.what();
  }
  bool ok = false;
  if (failure.empty()) {
    try {
      ok = review_allowed(answer);
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  // Fail closed: never "allowed" because the question could not be asked. A forbidden review
  // means the server itself may not create reviews: a configuration error, not the user's.
  if (!failure.empty()) {
    std::string hint;
    if (code == Errc::forbidden || code == Errc::unauthorized) {
      code = Errc::unavailable;
      hint =
          "; the server's own account needs create on subjectaccessreviews.authorization.k8s.io (or run with "
          "--capi-access-check none)";
    }
    fail(code, fmt::format("the access check on Cluster objects failed (SubjectAccessReview: {}): {}{}", describe(s, q),
                           failure, hint));
  }
  cache_.put(s, q, ok);
  co_return ok;
}

boost::asio::awaitable<std::vector<ClusterInfo>> AccessChecker::visible(AccessSubject s, std::vector<ClusterInfo> all) {
  std::set<std::string> nss;
  for (auto& c : all) nss.insert(c.ns);
  std::set<std::string> listable;
  for (auto& ns : nss) {
    AccessQuery q{"list", ns, ""};
    bool ok = co_await allowed(s, std::move(q));  // not inside the condition (g++ 12)
    if (ok) listable.insert(ns);
  }
  std::vector<ClusterInfo> out;
  for (auto& c : all) {
    bool ok = listable.contains(c.ns);
    if (!ok) {
      AccessQuery q{"get", c.ns, c.name};
      ok = co_await allowed(s, std::move(q));
    }
    if (ok) out.push_back(std::move(c));
  }
  co_return out;
}

boost::asio::awaitable<bool> AccessChecker::may_get(AccessSubject s, ClusterInfo c) {
  // What a listing shows, `cluster: X` accepts: a user who may list the namespace's clusters.
  // Asked first: one answer per namespace serves every cluster there (clusters: [...]).
  AccessQuery list{"list", c.ns, ""};
  bool ok = co_await allowed(s, std::move(list));
  if (ok) co_return true;
  AccessQuery get{"get", c.ns, c.name};
  co_return co_await allowed(s, std::move(get));
}

}  // namespace mk::federation
