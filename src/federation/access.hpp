#pragma once
// Which Cluster objects a signed-in user may use: the management cluster's RBAC decides, asked
// with a SubjectAccessReview (made with the server's own credentials) for the user as
// impersonation would present them. Without this, whoever may create a Cluster object anywhere
// could point every user's calls (and, with SSO passthrough, their ID tokens) at an endpoint of
// their choice. Pure pieces (the review body, its answer, the decision cache) apart from the
// I/O, which is one injected function.
#include "federation/cluster_info.hpp"
#include "util/identity.hpp"
#include "util/signal.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mk::federation {

enum class AccessCheck { rbac, none };

// The user a review asks about: the e-mail (the name impersonation uses) and the identity
// provider's groups plus system:authenticated, sorted. Groups named system:* in the provider's
// claim are dropped (the API server's own groups are never taken from a claim).
struct AccessSubject {
  std::string user;
  std::vector<std::string> groups;
  auto operator<=>(const AccessSubject&) const = default;
};

// Throws Errc::unauthorized when the token says the e-mail is not verified (email_verified:
// false): an address the provider did not verify may be anyone's. An absent claim is taken as
// the provider vouching for it (Dex and Google send it). Used by the check and by impersonation.
void refuse_unverified(const Identity& who);

// Throws Errc::unauthorized when `who` cannot be asked about: no e-mail, an e-mail the token
// says is not verified (email_verified: false), or values that are not sane names.
AccessSubject access_subject(const Identity& who);

// One question: `verb` on clusters.cluster.x-k8s.io in `ns`, of object `name` ("" = any, for list).
struct AccessQuery {
  std::string verb, ns, name;
  auto operator<=>(const AccessQuery&) const = default;
};

// The SubjectAccessReview (authorization.k8s.io/v1) for `s` asking `q`.
boost::json::object review_body(const AccessSubject& s, const AccessQuery& q);
// status.allowed of a review's answer (false when status.denied is true). Throws
// Errc::unavailable when the answer is not a review with a status.
bool review_allowed(const boost::json::value& answer);
// "get clusters.cluster.x-k8s.io org-acme/wc1 for alice@example.com", for errors.
std::string describe(const AccessSubject& s, const AccessQuery& q);

// Decisions per (user, groups, verb, namespace, name): each kept `ttl` after it was made (a
// revoked binding takes effect within that), at most `max_entries` of about 300 bytes (least
// recently used dropped first). Failed reviews are never cached.
class AccessCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // The subject as a sha256 of user and groups: an entry's size does not grow with a user's
  // groups (up to 256 of 256 characters from the provider).
  using Key = std::pair<std::string, AccessQuery>;
  static Key key(const AccessSubject& s, const AccessQuery& q);

  AccessCache(std::size_t max_entries, std::chrono::milliseconds ttl, Clock clock = {});
  std::optional<bool> get(const AccessSubject& s, const AccessQuery& q);
  // Whether get() would answer, without touching the order of use.
  bool has(const AccessSubject& s, const AccessQuery& q) const;
  void put(const AccessSubject& s, const AccessQuery& q, bool allowed);
  std::size_t size() const { return map_.size(); }

 private:
  struct Entry {
    bool allowed;
    std::chrono::steady_clock::time_point made;
    std::list<Key>::iterator lru;
  };
  std::chrono::steady_clock::time_point now() const { return clock_ ? clock_() : std::chrono::steady_clock::now(); }
  std::size_t max_;
  std::chrono::milliseconds ttl_;
  Clock clock_;
  std::map<Key, Entry> map_;
  std::list<Key> lru_;  // front = most recently used
};

// Reviews one call may make (a listing, a name lookup, or the names of one fleet call
// together). Without a bound, a user who may list nothing, facing thousands of Cluster
// objects, costs one review per object. 256 is a listing over ~250 organizations (one review
// per namespace) for a user granted per namespace, at 8 at a time a fraction of a second;
// past it the call fails closed (Errc::too_large) instead of listing a part as the whole.
inline constexpr std::size_t kMaxReviewsPerCall = 256;
// Reviews in flight at once, over all calls: overlaps round trips without a burst that would
// crowd the management API server (each review is answered by its authorizer, no storage).
inline constexpr std::size_t kMaxReviewsInFlight = 8;

// What is left of one call's kMaxReviewsPerCall; shared by the lookups of one fleet call.
struct AccessBudget {
  std::size_t left = kMaxReviewsPerCall;
};

// Asks (through `review`: posts the body, answers the API server's response) and caches.
// Identical questions in flight are asked once (the later askers await the first's answer);
// at most kMaxReviewsInFlight reviews run at once.
class AccessChecker {
 public:
  using Review = std::function<boost::asio::awaitable<boost::json::value>(boost::json::object)>;
  AccessChecker(Review review, std::size_t max_entries, std::chrono::milliseconds ttl, AccessCache::Clock clock = {});

  // Whether `s` may `verb` (get or list) per `q`. A failed review throws (fail closed), naming it.
  boost::asio::awaitable<bool> allowed(AccessSubject s, AccessQuery q);
  // The clusters of `all` that `s` may see, order kept: everything when `s` may list clusters
  // in every namespace (one review), else everything in a namespace where `s` may list them
  // (one review per namespace), else each object `s` may get. Each step is asked only when
  // its reviews fit in the budget; else Errc::too_large before any of them is sent.
  boost::asio::awaitable<std::vector<ClusterInfo>> visible(AccessSubject s, std::vector<ClusterInfo> all);
  boost::asio::awaitable<std::vector<ClusterInfo>> visible(AccessSubject s, std::vector<ClusterInfo> all,
                                                           std::shared_ptr<AccessBudget> budget);
  // The clusters of `all` named `name` (in `ns` when given) that `s` may see. The questions do
  // not depend on whether such a cluster exists: list everywhere, list in each namespace of
  // the fleet (or `ns`), get `name` in each of those where the list is refused; so a hidden
  // name costs and answers what a missing one does.
  boost::asio::awaitable<std::vector<ClusterInfo>> named(AccessSubject s, std::vector<ClusterInfo> all,
                                                         std::string name, std::string ns);
  boost::asio::awaitable<std::vector<ClusterInfo>> named(AccessSubject s, std::vector<ClusterInfo> all,
                                                         std::string name, std::string ns,
                                                         std::shared_ptr<AccessBudget> budget);

  AccessCache& cache() { return cache_; }
  std::size_t reviews() const { return reviews_; }  // reviews sent (not answered from the cache)

 private:
  struct Flight;
  struct Batch;
  // The answers to `qs`, asked kMaxReviewsInFlight at a time; charges the uncached ones to
  // `budget` first (all or nothing). The first failure fails the whole.
  boost::asio::awaitable<std::vector<char>> ask_all(AccessSubject s, std::vector<AccessQuery> qs,
                                                    std::shared_ptr<AccessBudget> budget);
  boost::asio::awaitable<void> batch_worker(std::shared_ptr<Batch> b, AccessSubject s);
  boost::asio::awaitable<bool> review_once(AccessSubject s, AccessQuery q);

  Review review_;
  AccessCache cache_;
  std::size_t reviews_ = 0;
  // Shared with the coroutines that settle a flight or give back a slot as they end, which
  // may be after this checker when the io_context is torn down.
  struct Flights {
    std::map<AccessCache::Key, std::shared_ptr<Flight>> pending;  // one per question in flight
    std::size_t in_flight = 0;                                    // reviews sent and not answered
    std::unique_ptr<Signal> slot_free;                            // made on first use (needs the executor)
  };
  std::shared_ptr<Flights> flights_ = std::make_shared<Flights>();
};

}  // namespace mk::federation
