#include "federation/access.hpp"

#include "federation/client_cache.hpp"
#include "instrumentation/metrics.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

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
  if (q.ns.empty()) return fmt::format("{} clusters.cluster.x-k8s.io in all namespaces for {}", q.verb, s.user);
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

bool AccessCache::has(const AccessSubject& s, const AccessQuery& q) const {
  auto it = map_.find(key(s, q));
  return it != map_.end() && now() - it->second.made < ttl_;
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

namespace {
void count_review(const char* result) {
  metrics::Registry::global().inc("mcp_kubernetes_capi_access_reviews_total", {{"result", result}});
}
void count_cache(const char* result) {
  metrics::Registry::global().inc("mcp_kubernetes_capi_access_cache_total", {{"result", result}});
}

// After a wake-up: a cancelled call stops waiting (Signal::wait does not throw by itself).
boost::asio::awaitable<void> stop_if_cancelled() {
  auto cs = co_await boost::asio::this_coro::cancellation_state;
  if (cs.cancelled() != boost::asio::cancellation_type::none)
    throw boost::system::system_error(boost::asio::error::operation_aborted);
}
}  // namespace

// One review in flight, awaited by every asker of the same question.
struct AccessChecker::Flight {
  explicit Flight(boost::asio::any_io_executor ex) : done(std::move(ex)) {}
  enum class State { pending, answered, failed, abandoned } state = State::pending;
  bool allowed = false;
  Errc code = Errc::unavailable;
  std::string failure;
  Signal done;
};

AccessChecker::AccessChecker(Review review, std::size_t max_entries, std::chrono::milliseconds ttl,
                             AccessCache::Clock clock)
    : review_(std::move(review)), cache_(max_entries, ttl, std::move(clock)) {}

boost::asio::awaitable<bool> AccessChecker::allowed(AccessSubject s, AccessQuery q) {
  auto key = AccessCache::key(s, q);
  for (;;) {
    if (auto hit = cache_.get(s, q)) {
      count_cache("hit");
      co_return *hit;
    }
    auto it = flights_->pending.find(key);
    if (it == flights_->pending.end()) break;
    // Asked already and not answered yet: wait for that answer instead of asking again.
    auto f = it->second;
    count_cache("shared");
    while (f->state == Flight::State::pending) {
      co_await f->done.wait();
      co_await stop_if_cancelled();
    }
    if (f->state == Flight::State::answered) co_return f->allowed;
    if (f->state == Flight::State::failed) fail(f->code, f->failure);
    // abandoned: its asker was cancelled before the answer came; ask (or join) anew.
  }
  count_cache("miss");
  auto ex = co_await boost::asio::this_coro::executor;
  auto flight = std::make_shared<Flight>(ex);
  auto fl = flights_;
  fl->pending.emplace(key, flight);
  // Whatever way this ends (answer, failure, cancellation), the flight is settled and its
  // waiters woken.
  struct Settle {
    std::shared_ptr<Flights> fl;
    AccessCache::Key key;
    std::shared_ptr<Flight> f;
    ~Settle() {
      if (f->state == Flight::State::pending) f->state = Flight::State::abandoned;
      fl->pending.erase(key);
      f->done.notify();
    }
  } settle{fl, key, flight};
  if (!fl->slot_free) fl->slot_free = std::make_unique<Signal>(ex);
  while (fl->in_flight >= kMaxReviewsInFlight) {
    co_await fl->slot_free->wait();
    co_await stop_if_cancelled();
  }
  ++fl->in_flight;
  struct Slot {
    std::shared_ptr<Flights> fl;
    ~Slot() {
      --fl->in_flight;
      fl->slot_free->notify();
    }
  } slot{fl};
  std::string failure;
  Errc code = Errc::unavailable;
  bool ok = false;
  try {
    ok = co_await review_once(s, q);
  } catch (const Error& e) {
    failure = e.what();
    code = e.code();
  }
  if (!failure.empty()) {
    flight->state = Flight::State::failed;
    flight->code = code;
    flight->failure = failure;
    fail(code, failure);
  }
  flight->state = Flight::State::answered;
  flight->allowed = ok;
  co_return ok;
}

boost::asio::awaitable<bool> AccessChecker::review_once(AccessSubject s, AccessQuery q) {
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
    count_review("error");
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
  count_review(ok ? "allowed" : "denied");
  cache_.put(s, q, ok);
  co_return ok;
}

// The questions of one step of a call, worked through by up to kMaxReviewsInFlight workers.
struct AccessChecker::Batch {
  explicit Batch(boost::asio::any_io_executor ex) : done(std::move(ex)) {}
  std::vector<AccessQuery> qs;
  std::vector<char> answers;
  std::size_t next = 0, running = 0;
  bool stop = false;  // a failure, or the call went away: take no further question
  std::exception_ptr error;
  Signal done;
};

boost::asio::awaitable<void> AccessChecker::batch_worker(std::shared_ptr<Batch> b, AccessSubject s) {
  while (!b->stop && b->next < b->qs.size()) {
    auto i = b->next++;
    auto q = b->qs[i];
    std::exception_ptr err;
    try {
      bool ok = co_await allowed(s, std::move(q));
      b->answers[i] = ok;
    } catch (...) {
      err = std::current_exception();
    }
    if (err) {
      if (!b->error) b->error = err;
      b->stop = true;
    }
  }
}

boost::asio::awaitable<std::vector<char>> AccessChecker::ask_all(AccessSubject s, std::vector<AccessQuery> qs,
                                                                 std::shared_ptr<AccessBudget> budget) {
  // Charged before anything is sent: a step that does not fit is not begun.
  std::size_t uncached = 0;
  for (auto& q : qs) uncached += !cache_.has(s, q);
  if (uncached > budget->left) {
    log::warn("the access check on Cluster objects for {} needs more than {} SubjectAccessReviews in one call; refused",
              s.user, kMaxReviewsPerCall);
    fail(Errc::too_large,
         fmt::format("showing the Cluster objects you may see would take more than {} access reviews in this one call "
                     "(the limit per call); ask for list on clusters.cluster.x-k8s.io in the namespaces you use (or in "
                     "all), or narrow the call (a label selector, a cluster's namespace)",
                     kMaxReviewsPerCall));
  }
  budget->left -= uncached;
  std::vector<char> answers(qs.size(), 0);
  if (qs.size() == 1) {
    auto q = qs.front();
    bool ok = co_await allowed(s, std::move(q));
    answers[0] = ok;
    co_return answers;
  }
  auto ex = co_await boost::asio::this_coro::executor;
  auto b = std::make_shared<Batch>(ex);
  b->qs = std::move(qs);
  b->answers = std::move(answers);
  // A call that goes away (cancelled) leaves its workers to finish the reviews in flight, and
  // they take no further question.
  struct StopOnExit {
    std::shared_ptr<Batch> b;
    ~StopOnExit() { b->stop = true; }
  } stop_on_exit{b};
  auto workers = std::min(kMaxReviewsInFlight, b->qs.size());
  for (std::size_t w = 0; w < workers; ++w) {
    ++b->running;
    auto work = batch_worker(b, s);
    boost::asio::co_spawn(ex, std::move(work), [b](std::exception_ptr e) {
      if (e && !b->error) b->error = e;
      --b->running;
      b->done.notify();
    });
  }
  while (b->running > 0) {
    co_await b->done.wait();
    co_await stop_if_cancelled();
  }
  if (b->error) std::rethrow_exception(b->error);
  co_return std::move(b->answers);
}

boost::asio::awaitable<std::vector<ClusterInfo>> AccessChecker::visible(AccessSubject s, std::vector<ClusterInfo> all) {
  auto budget = std::make_shared<AccessBudget>();
  co_return co_await visible(std::move(s), std::move(all), std::move(budget));
}

boost::asio::awaitable<std::vector<ClusterInfo>> AccessChecker::visible(AccessSubject s, std::vector<ClusterInfo> all,
                                                                        std::shared_ptr<AccessBudget> budget) {
  std::vector<AccessQuery> everywhere{{"list", "", ""}};
  auto wide = co_await ask_all(s, std::move(everywhere), budget);
  if (wide[0]) co_return all;
  std::set<std::string> nss;
  for (auto& c : all) nss.insert(c.ns);
  std::vector<AccessQuery> lists;
  for (auto& ns : nss) lists.push_back({"list", ns, ""});
  auto listed = co_await ask_all(s, lists, budget);
  std::set<std::string> listable;
  for (std::size_t i = 0; i < lists.size(); ++i)
    if (listed[i]) listable.insert(lists[i].ns);
  std::vector<AccessQuery> gets;
  for (auto& c : all)
    if (!listable.contains(c.ns)) gets.push_back({"get", c.ns, c.name});
  auto got = co_await ask_all(s, gets, budget);
  std::set<std::pair<std::string, std::string>> gettable;
  for (std::size_t i = 0; i < gets.size(); ++i)
    if (got[i]) gettable.emplace(gets[i].ns, gets[i].name);
  std::vector<ClusterInfo> out;
  for (auto& c : all)
    if (listable.contains(c.ns) || gettable.contains({c.ns, c.name})) out.push_back(std::move(c));
  co_return out;
}

boost::asio::awaitable<std::vector<ClusterInfo>> AccessChecker::named(AccessSubject s, std::vector<ClusterInfo> all,
                                                                      std::string name, std::string ns) {
  auto budget = std::make_shared<AccessBudget>();
  co_return co_await named(std::move(s), std::move(all), std::move(name), std::move(ns), std::move(budget));
}

boost::asio::awaitable<std::vector<ClusterInfo>> AccessChecker::named(AccessSubject s, std::vector<ClusterInfo> all,
                                                                      std::string name, std::string ns,
                                                                      std::shared_ptr<AccessBudget> budget) {
  std::vector<ClusterInfo> candidates;
  for (auto& c : all)
    if (c.name == name && (ns.empty() || c.ns == ns)) candidates.push_back(c);
  std::vector<AccessQuery> everywhere{{"list", "", ""}};
  auto wide = co_await ask_all(s, std::move(everywhere), budget);
  if (wide[0]) co_return candidates;
  // Every namespace of the fleet (or the one named), not only those holding `name`: what is
  // asked must not tell whether it exists.
  std::set<std::string> nss;
  if (!ns.empty()) {
    nss.insert(ns);
  } else {
    for (auto& c : all) nss.insert(c.ns);
  }
  std::vector<AccessQuery> lists;
  for (auto& n : nss) lists.push_back({"list", n, ""});
  auto listed = co_await ask_all(s, lists, budget);
  std::set<std::string> seen;
  std::vector<AccessQuery> gets;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    if (listed[i]) {
      seen.insert(lists[i].ns);
    } else {
      gets.push_back({"get", lists[i].ns, name});
    }
  }
  auto got = co_await ask_all(s, gets, budget);
  for (std::size_t i = 0; i < gets.size(); ++i)
    if (got[i]) seen.insert(gets[i].ns);
  std::vector<ClusterInfo> out;
  for (auto& c : candidates)
    if (seen.contains(c.ns)) out.push_back(std::move(c));
  co_return out;
}

}  // namespace mk::federation
