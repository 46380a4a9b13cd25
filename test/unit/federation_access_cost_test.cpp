// What the access check on Cluster objects costs and what its cost tells (hostile-review
// findings): a cluster-wide list grant answers a listing with one review; reviews run a bounded
// number at a time, identical ones in flight are asked once, one call makes at most
// kMaxReviewsPerCall and past that fails closed; a hidden and a missing name cost the same
// reviews and get the same answer; reviews do not draw on the management client's rate limit;
// the metrics count reviews and cache use. Fake reviews count and measure; the Federation-level
// tests talk HTTP to a fake management API server on loopback (its own thread).
#include "federation/access.hpp"
#include "federation/federation.hpp"
#include "instrumentation/metrics.hpp"
#include "k8s/client.hpp"
#include "util/error.hpp"
#include "util/signal.hpp"

#include "auth_test_util.hpp"
#include "code_of.hpp"
#include "fake_http.hpp"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace mk::federation;
namespace asio = boost::asio;
namespace json = boost::json;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using mk::Errc;
using namespace std::chrono_literals;

namespace {

mk::Identity user(std::string email = "alice@example.com", std::vector<std::string> groups = {"dev"}) {
  return {.subject = "sub-" + email,
          .email = std::move(email),
          .groups = std::move(groups),
          .upstream_token = "",
          .email_verified = true};
}

ClusterInfo cluster(std::string ns, std::string name) {
  ClusterInfo c;
  c.ns = std::move(ns);
  c.name = std::move(name);
  return c;
}

// "verb ns name" of a review body.
std::string line_of(const json::object& body) {
  auto& ra = body.at("spec").at("resourceAttributes").as_object();
  auto name = ra.contains("name") ? std::string(ra.at("name").as_string()) : std::string();
  return std::string(ra.at("verb").as_string()) + " " + std::string(ra.at("namespace").as_string()) + " " + name;
}

json::value answer(bool allowed) {
  return json::value{{"apiVersion", "authorization.k8s.io/v1"},
                     {"kind", "SubjectAccessReview"},
                     {"status", json::object{{"allowed", allowed}}}};
}

// A management cluster's RBAC as a fake review: allowed lines ("list  " = cluster-wide list),
// every review counted, each one yielding to the io loop a few times before it answers (so
// that reviews can overlap), the most in flight at once recorded.
struct FakeReviews {
  std::set<std::string> allow;
  std::vector<std::string> asked;
  std::size_t in_flight = 0, peak = 0;
  AccessChecker::Review review() {
    return [this](json::object body) -> asio::awaitable<json::value> {
      auto line = line_of(body);
      asked.push_back(line);
      ++in_flight;
      peak = std::max(peak, in_flight);
      auto ex = co_await asio::this_coro::executor;
      for (int i = 0; i < 4; ++i) co_await asio::post(ex, use_awaitable);
      --in_flight;
      co_return answer(allow.contains(line));
    };
  }
};

std::vector<ClusterInfo> fleet(int namespaces, int per_namespace) {
  std::vector<ClusterInfo> out;
  for (int n = 0; n < namespaces; ++n)
    for (int i = 0; i < per_namespace; ++i)
      out.push_back(cluster(fmt::format("org-{:04}", n), fmt::format("c{}-{}", n, i)));
  return out;
}

double metric(const std::string& family, const std::string& labels) {
  for (auto& f : mk::metrics::Registry::global().snapshot())
    if (f.name == family)
      for (auto& s : f.series)
        if (s.labels == labels) return s.value;
  return -1;  // absent
}

}  // namespace

TEST(FederationAccessCost, ClusterWideListAnswersAListingWithOneReview) {
  asio::io_context io;
  FakeReviews mc;
  mc.allow = {"list  "};
  AccessChecker ck(mc.review(), 10000, 30s);
  auto all = fleet(500, 4);
  auto seen = auth_test::run(io, ck.visible(access_subject(user()), all));
  EXPECT_EQ(seen.size(), all.size());
  EXPECT_EQ(mc.asked, (std::vector<std::string>{"list  "}));
}

TEST(FederationAccessCost, ReviewsRunEightAtATimeAcrossCalls) {
  asio::io_context io;
  FakeReviews mc;
  AccessChecker ck(mc.review(), 10000, 30s);
  // Three users at once, 40 namespaces each: 3 x (1 + 40 + 40) reviews, never more than 8 in flight.
  auto all = fleet(40, 1);
  std::vector<std::vector<ClusterInfo>> seen(3);
  for (int u = 0; u < 3; ++u)
    asio::co_spawn(io, ck.visible(access_subject(user(fmt::format("u{}@example.com", u))), all),
                   [&seen, u](std::exception_ptr e, std::vector<ClusterInfo> v) {
                     EXPECT_FALSE(e);
                     seen[u] = std::move(v);
                   });
  io.run();
  EXPECT_EQ(mc.asked.size(), 3u * 81u);
  EXPECT_EQ(mc.peak, kMaxReviewsInFlight);  // bounded, and overlapping (one after another would be 1)
  for (auto& v : seen) EXPECT_TRUE(v.empty());
}

TEST(FederationAccessCost, IdenticalReviewsInFlightAreAskedOnce) {
  asio::io_context io;
  FakeReviews mc;
  mc.allow = {"list org-0001 ", "get org-0002 c2-0"};
  AccessChecker ck(mc.review(), 10000, 30s);
  auto all = fleet(3, 2);
  auto s = access_subject(user());
  // Two calls of the same user at the same moment (a fleet call and a listing, say).
  std::vector<std::vector<ClusterInfo>> seen(2);
  for (int i = 0; i < 2; ++i)
    asio::co_spawn(io, ck.visible(s, all), [&seen, i](std::exception_ptr e, std::vector<ClusterInfo> v) {
      EXPECT_FALSE(e);
      seen[i] = std::move(v);
    });
  io.run();
  // 1 cluster-wide list + 3 namespace lists + 4 gets (org-0000 and org-0002), each once.
  EXPECT_EQ(mc.asked.size(), 8u);
  std::set<std::string> distinct(mc.asked.begin(), mc.asked.end());
  EXPECT_EQ(distinct.size(), mc.asked.size());
  for (auto& v : seen) {
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0].name, "c1-0");
    EXPECT_EQ(v[1].name, "c1-1");
    EXPECT_EQ(v[2].name, "c2-0");
  }
}

TEST(FederationAccessCost, OneCallMakesAtMostTheCapThenFailsClosed) {
  asio::io_context io;
  FakeReviews mc;
  AccessChecker ck(mc.review(), 10000, 30s);
  auto s = access_subject(user());
  // A user who may list nothing, facing 1,000 clusters in 1,000 namespaces: the namespaces'
  // lists alone would pass the cap, so the call fails after the cluster-wide question.
  std::string what;
  EXPECT_EQ(code_of([&] { auth_test::run(io, ck.visible(s, fleet(1000, 1))); }, &what), Errc::too_large);
  EXPECT_NE(what.find(std::to_string(kMaxReviewsPerCall)), std::string::npos) << what;
  EXPECT_EQ(mc.asked.size(), 1u);
  // 200 namespaces: their lists fit, the 200 gets after them do not: not a partial listing.
  mc.asked.clear();
  EXPECT_EQ(code_of([&] { auth_test::run(io, ck.visible(s, fleet(200, 1))); }), Errc::too_large);
  EXPECT_LE(mc.asked.size(), kMaxReviewsPerCall);
  EXPECT_EQ(mc.asked.size(), 200u);  // the namespaces' lists; the cluster-wide one came from the cache
  // Within the cap the listing is complete.
  mc.asked.clear();
  mc.allow = {"get org-0003 c3-0"};
  auto few = auth_test::run(io, ck.visible(s, fleet(100, 1)));
  ASSERT_EQ(few.size(), 1u);
  EXPECT_EQ(few[0].name, "c3-0");
  EXPECT_LE(mc.asked.size(), kMaxReviewsPerCall);
}

TEST(FederationAccessCost, AHiddenAndAMissingNameAskTheSameQuestions) {
  asio::io_context io;
  auto all = fleet(5, 2);  // c1-0 exists (hidden), zz does not
  auto s = access_subject(user());
  auto ask = [&](std::string name, std::string ns) {
    FakeReviews mc;
    AccessChecker ck(mc.review(), 10000, 30s);
    auto found = auth_test::run(io, ck.named(s, all, name, ns));
    EXPECT_TRUE(found.empty());
    std::vector<std::string> asked;
    for (auto& l : mc.asked) asked.push_back(l.ends_with(" " + name) ? l.substr(0, l.size() - name.size()) + "X" : l);
    std::sort(asked.begin(), asked.end());
    return asked;
  };
  EXPECT_EQ(ask("c1-0", ""), ask("zz", ""));
  EXPECT_EQ(ask("c1-0", "org-0001"), ask("zz", "org-0001"));
  EXPECT_EQ(ask("c1-0", "org-0001"), (std::vector<std::string>{"get org-0001 X", "list  ", "list org-0001 "}));
  // Allowed: found where it exists, nothing where it does not (same questions again).
  FakeReviews mc;
  mc.allow = {"get org-0001 c1-0", "get org-0001 zz"};
  AccessChecker ck(mc.review(), 10000, 30s);
  auto found = auth_test::run(io, ck.named(s, all, "c1-0", ""));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].ns, "org-0001");
  EXPECT_TRUE(auth_test::run(io, ck.named(s, all, "zz", "")).empty());
}

TEST(FederationAccessCost, MetricsCountReviewsAndCacheUse) {
  auto allowed = [] { return metric("mcp_kubernetes_capi_access_reviews_total", R"(result="allowed")"); };
  auto denied = [] { return metric("mcp_kubernetes_capi_access_reviews_total", R"(result="denied")"); };
  auto errors = [] { return metric("mcp_kubernetes_capi_access_reviews_total", R"(result="error")"); };
  auto hits = [] { return metric("mcp_kubernetes_capi_access_cache_total", R"(result="hit")"); };
  auto misses = [] { return metric("mcp_kubernetes_capi_access_cache_total", R"(result="miss")"); };
  asio::io_context io;
  {
    // Present (at 0 on a fresh server) as soon as federation is on.
    Options o;
    o.oauth = true;
    Federation f(io.get_executor(), o, [] { return std::shared_ptr<mk::k8s::Client>(); });
    for (auto v : {allowed(), denied(), errors(), hits(), misses()}) EXPECT_GE(v, 0);
  }
  auto a0 = allowed(), d0 = denied(), e0 = errors(), h0 = hits(), m0 = misses();
  FakeReviews mc;
  mc.allow = {"list org-0000 "};
  AccessChecker ck(mc.review(), 10000, 30s);
  auto s = access_subject(user());
  auth_test::run(io, ck.visible(s, fleet(2, 1)));  // list "", list org-0000 (yes), list org-0001, get c1-0
  EXPECT_EQ(allowed() - a0, 1);
  EXPECT_EQ(denied() - d0, 3);
  EXPECT_EQ(misses() - m0, 4);
  auth_test::run(io, ck.visible(s, fleet(2, 1)));
  EXPECT_EQ(hits() - h0, 4);
  EXPECT_EQ(misses() - m0, 4);
  AccessChecker broken([](json::object) -> asio::awaitable<json::value> { mk::fail(Errc::timeout, "no answer"); }, 100,
                       30s);
  EXPECT_EQ(code_of([&] { auth_test::run(io, broken.visible(s, fleet(1, 1))); }), Errc::timeout);
  EXPECT_EQ(errors() - e0, 1);
}

// --- Federation against a fake management API server ---------------------------------------

namespace {

using fake_http::read_req;
using fake_http::Req;

// Discovery (legacy), the Cluster list and SubjectAccessReviews, answered per `allow`.
class FakeMc {
 public:
  FakeMc(std::vector<ClusterInfo> clusters, std::set<std::string> allow)
      : clusters_(std::move(clusters)), allow_(std::move(allow)) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeMc() {
    io_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acc_.local_endpoint().port()); }
  std::atomic<int> reviews{0}, others{0};
  std::atomic<bool> reviews_fail{false};

 private:
  std::pair<int, std::string> answer_to(const Req& r) {
    if (r.method == "POST" && r.target == "/apis/authorization.k8s.io/v1/subjectaccessreviews") {
      ++reviews;
      if (reviews_fail)
        return {500, R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcd down","code":500})"};
      auto body = json::parse(r.body).as_object();
      return {201, json::serialize(answer(allow_.contains(line_of(body))))};
    }
    ++others;
    if (r.target == "/api") return {200, R"({"kind":"APIVersions","versions":["v1"]})"};
    if (r.target == "/api/v1") return {200, R"({"kind":"APIResourceList","groupVersion":"v1","resources":[]})"};
    if (r.target == "/apis")
      return {200, R"({"kind":"APIGroupList","groups":[{"name":"cluster.x-k8s.io","versions":[{"groupVersion":)"
                   R"("cluster.x-k8s.io/v1beta2","version":"v1beta2"}],"preferredVersion":{"groupVersion":)"
                   R"("cluster.x-k8s.io/v1beta2","version":"v1beta2"}}]})"};
    if (r.target == "/apis/cluster.x-k8s.io/v1beta2")
      return {200,
              R"({"kind":"APIResourceList","groupVersion":"cluster.x-k8s.io/v1beta2","resources":[{"name":)"
              R"("clusters","singularName":"cluster","namespaced":true,"kind":"Cluster","verbs":["get","list"]}]})"};
    if (r.target.starts_with("/apis/cluster.x-k8s.io/v1beta2/clusters")) {
      json::array items;
      for (auto& c : clusters_)
        items.push_back(json::object{{"apiVersion", "cluster.x-k8s.io/v1beta2"},
                                     {"kind", "Cluster"},
                                     {"metadata", json::object{{"name", c.name}, {"namespace", c.ns}}}});
      return {200, json::serialize(json::object{{"kind", "ClusterList"}, {"items", std::move(items)}})};
    }
    return {404, R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404})"};
  }
  asio::awaitable<void> serve(tcp::socket s) {
    std::string buf;
    while (auto r = co_await read_req(s, buf)) {
      auto [status, body] = answer_to(*r);
      bool sent = co_await fake_http::respond(s, status, body);
      if (!sent) co_return;
    }
  }
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acc_.async_accept(asio::as_tuple(use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(s)), asio::detached);
    }
  }
  std::vector<ClusterInfo> clusters_;
  std::set<std::string> allow_;
  asio::io_context io_;
  tcp::acceptor acc_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread thread_;
};

mk::k8s::TransportOptions quick() {
  mk::k8s::TransportOptions o;
  o.qps = 0;
  o.max_retries = 0;
  o.max_retry_wait = 1ms;
  o.request_timeout = 20s;
  return o;
}

struct Fed {
  Fed(asio::io_context& io, const FakeMc& api, mk::k8s::TransportOptions mc_opts = quick()) {
    mk::k8s::RestConfig rc;
    rc.context = "mc";
    rc.cluster.server = api.url();
    mc = std::make_shared<mk::k8s::Client>(io.get_executor(), rc, mc_opts);
    Options o;
    o.oauth = true;
    f = std::make_unique<Federation>(io.get_executor(), o, [this] { return mc; });
  }
  std::shared_ptr<mk::k8s::Client> mc;
  std::unique_ptr<Federation> f;
};

// The error `find` ends with (code, message), the name asked replaced by X.
std::pair<Errc, std::string> find_error(asio::io_context& io, Federation& f, std::string name) {
  std::string what;
  auto code = code_of([&] { auth_test::run(io, f.find(name, "", user())); }, &what);
  for (auto p = what.find(name); p != std::string::npos; p = what.find(name)) what.replace(p, name.size(), "X");
  return {code, what};
}

}  // namespace

TEST(FederationAccessCost, FindAHiddenOrAMissingNameCostsAndAnswersTheSame) {
  // org-a/a1 is hidden from alice; org-b/b1 she may get.
  FakeMc api({cluster("org-a", "a1"), cluster("org-b", "b1")}, {"get org-b b1"});
  asio::io_context io;
  Fed hidden(io, api);
  auto h = find_error(io, *hidden.f, "a1");
  int hidden_reviews = api.reviews.exchange(0);
  Fed missing(io, api);  // a fresh cache
  auto m = find_error(io, *missing.f, "zz");
  int missing_reviews = api.reviews.exchange(0);
  EXPECT_EQ(h.first, Errc::not_found);
  EXPECT_EQ(h, m);
  EXPECT_EQ(hidden_reviews, missing_reviews);
  EXPECT_GT(hidden_reviews, 0);  // the check is made, not skipped, for a missing name
  // The visible one is found.
  auto b1 = auth_test::run(io, missing.f->find("b1", "", user()));
  EXPECT_EQ(b1.ns, "org-b");
  // While reviews fail: the same answer for both (not "check failed" for one, "not found" for the other).
  api.reviews_fail = true;
  Fed failing(io, api);
  auto hf = find_error(io, *failing.f, "a1");
  auto mf = find_error(io, *failing.f, "zz");
  EXPECT_EQ(hf.first, Errc::unavailable) << hf.second;
  EXPECT_EQ(hf, mf);
  EXPECT_EQ(hf.second.find("org-a"), std::string::npos) << hf.second;
}

TEST(FederationAccessCost, ReviewsDoNotDrawOnTheManagementClientsRateLimit) {
  // The management client's bucket holds exactly what discovery (4 requests) and the Cluster
  // list need, and refills once in 1,000 s: a review sent through it would wait that long.
  FakeMc api({cluster("org-a", "a1"), cluster("org-b", "b1"), cluster("org-c", "c1")},
             {"list org-a ", "list org-b ", "list org-c "});
  asio::io_context io;
  auto o = quick();
  o.qps = 0.001;
  o.burst = 5;
  Fed fed(io, api, o);
  std::optional<std::size_t> seen;
  std::string everything;
  asio::co_spawn(io, fed.f->list(everything, user()), [&](std::exception_ptr e, std::vector<ClusterInfo> v) {
    EXPECT_FALSE(e);
    seen = v.size();
  });
  io.run_for(30s);  // a bound for a failing test, not a timing threshold: it completes in milliseconds
  ASSERT_TRUE(seen.has_value()) << "the listing waited on the management client's rate limit";
  EXPECT_EQ(*seen, 3u);
  EXPECT_EQ(api.others, 5);
  EXPECT_EQ(api.reviews, 4);  // cluster-wide list (no), then the three namespaces (yes)
}

TEST(FederationAccessCost, ANameListOfOneCallSharesOneBudget) {
  // 100 namespaces, one cluster each, nothing allowed: one name costs 1 + 100 lists + 100 gets.
  std::vector<ClusterInfo> all;
  for (int n = 0; n < 100; ++n) all.push_back(cluster(fmt::format("org-{:03}", n), fmt::format("c{}", n)));
  FakeMc api(all, {});
  asio::io_context io;
  Fed fed(io, api);
  auto budget = std::make_shared<AccessBudget>();
  auto find = [&](std::string name, std::shared_ptr<AccessBudget> b) {
    return code_of([&] { auth_test::run(io, fed.f->find(name, "", user(), b)); });
  };
  EXPECT_EQ(find("c1", budget), Errc::not_found);
  EXPECT_EQ(api.reviews.exchange(0), 201);
  // The second name of the same call: its 100 gets do not fit in what is left (55).
  EXPECT_EQ(find("c2", budget), Errc::too_large);
  EXPECT_EQ(api.reviews.exchange(0), 0);
  // Another call (a budget of its own) may.
  EXPECT_EQ(find("c2", std::make_shared<AccessBudget>()), Errc::not_found);
  EXPECT_EQ(api.reviews.exchange(0), 100);
}

TEST(FederationAccessCost, AnAskerCancelledMidReviewLeavesNoOneWaiting) {
  asio::io_context io;
  // A review that answers only once the gate opens (a slow API server); a cancelled asker's
  // review ends as a real one would: operation_aborted.
  auto gate = std::make_shared<mk::Signal>(io.get_executor());
  bool open = false;
  int sent = 0;
  AccessChecker ck(
      [&](json::object) -> asio::awaitable<json::value> {
        ++sent;
        while (!open) {
          co_await gate->wait();
          auto cs = co_await asio::this_coro::cancellation_state;
          if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
        }
        co_return answer(true);
      },
      100, 30s);
  auto s = access_subject(user());
  AccessQuery q{"get", "ns", "x"};
  asio::cancellation_signal cancel_first;
  bool first_failed = false;
  std::optional<bool> second;
  asio::co_spawn(io, ck.allowed(s, q),
                 asio::bind_cancellation_slot(cancel_first.slot(),
                                              [&](std::exception_ptr e, bool) { first_failed = e != nullptr; }));
  asio::co_spawn(io, ck.allowed(s, q), [&](std::exception_ptr e, bool v) {
    EXPECT_FALSE(e);
    second = v;
  });
  io.poll();
  EXPECT_EQ(sent, 1);  // the second asker joined the first's review
  cancel_first.emit(asio::cancellation_type::terminal);
  io.poll();
  EXPECT_TRUE(first_failed);
  EXPECT_EQ(sent, 2);  // the second asks for itself instead of waiting for an answer that will not come
  EXPECT_FALSE(second.has_value());
  open = true;
  gate->notify();
  io.run();
  EXPECT_EQ(second, true);
}

TEST(FederationAccessCost, AFailedReviewFailsEveryoneWhoJoinedItAndIsAskedAgainLater) {
  asio::io_context io;
  int sent = 0;
  bool broken = true;
  AccessChecker ck(
      [&](json::object) -> asio::awaitable<json::value> {
        ++sent;
        auto ex = co_await asio::this_coro::executor;
        co_await asio::post(ex, use_awaitable);
        if (broken) mk::fail(Errc::timeout, "no answer");
        co_return answer(true);
      },
      100, 30s);
  auto s = access_subject(user());
  AccessQuery q{"list", "ns", ""};
  int failed = 0;
  for (int i = 0; i < 3; ++i)
    asio::co_spawn(io, ck.allowed(s, q), [&](std::exception_ptr e, bool) { failed += e != nullptr; });
  io.run();
  EXPECT_EQ(sent, 1);
  EXPECT_EQ(failed, 3);
  broken = false;
  EXPECT_TRUE(auth_test::run(io, ck.allowed(s, q)));
  EXPECT_EQ(sent, 2);
}
