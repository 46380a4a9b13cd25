#include "tools/pods/log_filter.hpp"
#include "tools/pods/pod_common.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace mk::tools;
namespace json = boost::json;

TEST(LineSplitter, JoinsAcrossChunks) {
  LineSplitter s;
  EXPECT_TRUE(s.feed("hel").empty());
  auto a = s.feed("lo\nwor");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], "hello");
  auto b = s.feed("ld\n\nx");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], "world");
  EXPECT_EQ(b[1], "");
  EXPECT_EQ(s.finish().value_or("-"), "x");
  EXPECT_FALSE(s.finish());
}

TEST(LineSplitter, BoundsAnEndlessLine) {
  LineSplitter s;
  auto out = s.feed(std::string(10, 'a'), 4);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 10u);
}

TEST(LineFilter, SubstringAndRegex) {
  LineFilter none("", "");
  EXPECT_FALSE(none.active());
  LineFilter sub("err", "");
  EXPECT_TRUE(sub.matches("an error"));
  EXPECT_FALSE(sub.matches("fine"));
  LineFilter re("", "^line [45]$");
  EXPECT_TRUE(re.matches("line 4"));
  EXPECT_FALSE(re.matches("line 6"));
  LineFilter both("x", "[0-9]");
  EXPECT_TRUE(both.matches("x1"));
  EXPECT_FALSE(both.matches("x"));
  EXPECT_THROW(LineFilter("", "(unclosed"), mk::Error);
  EXPECT_TRUE(LineFilter("", "(?i)error").matches("An ERROR"));
}

namespace {
std::shared_ptr<const LineFilter> make_filter(std::string sub, std::string re = "") {
  return std::make_shared<LineFilter>(std::move(sub), std::move(re));
}
std::string numbered(int n, const char* fmt_prefix = "line ") {
  std::string log;
  for (int i = 1; i <= n; ++i) log += fmt_prefix + std::to_string(i) + "\n";
  return log;
}
}  // namespace

// Issue 12 (3): with std::regex this pattern backtracks exponentially on each line and froze
// the server. RE2 is linear: it must finish, and match exactly the all-'a' lines.
TEST(LineFilter, CatastrophicPatternIsLinear) {
  auto f = make_filter("", "(a|aa)+(a|aa)+(a|aa)+$");
  std::string log;
  for (int i = 0; i < 200; ++i) log += i % 2 ? std::string(40, 'a') + "\n" : std::string(40, 'a') + "b\n";
  LogScanner sc(f, ScanLimits{.keep_lines = 1000});
  EXPECT_TRUE(sc.feed(log));
  sc.finish();
  EXPECT_EQ(sc.scanned_lines(), 200u);
  EXPECT_EQ(sc.matched_lines(), 100u);
  EXPECT_EQ(sc.stopped(), ScanStop::none);
  for (auto& l : sc.kept()) EXPECT_EQ(l, std::string(40, 'a'));
}

TEST(LineFilter, InvalidOrOversizedPatternsAreClearErrors) {
  auto expect_invalid = [](std::string sub, std::string re, std::string want) {
    try {
      LineFilter f(sub, re);
      ADD_FAILURE() << "expected an error for " << re;
    } catch (const mk::Error& e) {
      EXPECT_EQ(e.code(), mk::Errc::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  expect_invalid("", "(unclosed", "regex \"(unclosed\" is invalid: missing )");
  expect_invalid("", "(a)\\1", "is invalid");  // backreferences: not RE2
  expect_invalid("", std::string(2000, 'a'), "regex is 2000 bytes; the limit is 1024");
  expect_invalid(std::string(1025, 'x'), "", "filter is 1025 bytes");
  // A pattern within the length cap whose program exceeds RE2's memory cap.
  expect_invalid("", "((((a{100}){100}){100}){100})", "is invalid");
}

TEST(LogScanner, JoinsLinesSplitAcrossChunks) {
  auto f = make_filter("ERROR");
  LogScanner sc(f, {});
  std::string log = "ok 1\nan ERROR here\nok 2\nERROR at the end";
  for (char ch : log) ASSERT_TRUE(sc.feed(std::string_view(&ch, 1)));
  sc.finish();
  EXPECT_EQ(sc.scanned_lines(), 4u);
  EXPECT_EQ(sc.scanned_bytes(), log.size());
  EXPECT_EQ(sc.matched_lines(), 2u);
  EXPECT_EQ(sc.text(), "an ERROR here\nERROR at the end\n");
  // A word cut by a chunk boundary still matches.
  LogScanner sc2(f, {});
  sc2.feed("xx ERR");
  sc2.feed("OR yy\n");
  EXPECT_EQ(sc2.text(), "xx ERROR yy\n");
}

TEST(LogScanner, KeepsOnlyTheLastMatches) {
  auto f = make_filter("", "[02468]$");  // even line numbers
  LogScanner sc(f, ScanLimits{.keep_lines = 3});
  auto log = numbered(1000);
  for (std::size_t i = 0; i < log.size(); i += 777) sc.feed(std::string_view(log).substr(i, 777));
  sc.finish();
  EXPECT_EQ(sc.matched_lines(), 500u);
  EXPECT_EQ(sc.text(), "line 996\nline 998\nline 1000\n");
  EXPECT_FALSE(sc.kept_capped());
  // keep_bytes drops the oldest of the last N and says so.
  LogScanner small(f, ScanLimits{.keep_lines = 3, .keep_bytes = 15});
  small.feed(log);
  small.finish();
  EXPECT_EQ(small.text(), "line 1000\n");
  EXPECT_TRUE(small.kept_capped());
  // keep_lines 0 only counts.
  LogScanner none(f, ScanLimits{.keep_lines = 0});
  none.feed(log);
  EXPECT_EQ(none.matched_lines(), 500u);
  EXPECT_TRUE(none.kept().empty());
}

TEST(LogScanner, ByteBudgetStopsTheScanAndSaysSo) {
  auto f = make_filter("line");
  auto log = numbered(100, "line_");  // "line_1\n" .. "line_100\n"
  LogScanner sc(f, ScanLimits{.max_bytes = 50});
  EXPECT_FALSE(sc.feed(log));
  EXPECT_EQ(sc.stopped(), ScanStop::byte_budget);
  EXPECT_STREQ(to_string(sc.stopped()), "byteBudget");
  EXPECT_EQ(sc.scanned_bytes(), 50u);
  // "line_1\n".."line_7\n" are 49 bytes; the 8th line is cut by the budget and not scanned.
  EXPECT_EQ(sc.scanned_lines(), 7u);
  EXPECT_EQ(sc.matched_lines(), 7u);
  EXPECT_FALSE(sc.feed("line more\n"));
  sc.finish();
  EXPECT_EQ(sc.scanned_lines(), 7u);
  // A log exactly as long as the budget is scanned whole.
  LogScanner exact(f, ScanLimits{.max_bytes = 14});
  EXPECT_TRUE(exact.feed("line_1\nline_2\n"));
  exact.finish();
  EXPECT_EQ(exact.stopped(), ScanStop::none);
  EXPECT_EQ(exact.matched_lines(), 2u);
  // ... and one more byte in a later chunk ends it.
  EXPECT_FALSE(exact.feed("x"));
  EXPECT_EQ(exact.stopped(), ScanStop::byte_budget);
}

TEST(LogScanner, TimeBudgetStopsTheScan) {
  auto f = make_filter("line");
  ScanLimits past;
  past.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  LogScanner sc(f, past);
  EXPECT_FALSE(sc.feed(numbered(1000)));
  EXPECT_EQ(sc.stopped(), ScanStop::time_budget);
  EXPECT_STREQ(to_string(sc.stopped()), "timeBudget");
  EXPECT_LT(sc.scanned_lines(), 1000u);
  // An outside stop (a stalled stream) is recorded unless a budget came first.
  LogScanner sc2(f, {});
  sc2.feed("line 1\n");
  sc2.stop(ScanStop::time_budget);
  EXPECT_FALSE(sc2.feed("line 2\n"));
  EXPECT_EQ(sc2.matched_lines(), 1u);
}

TEST(LogScanner, LongLinesAreBoundedInMemory) {
  auto f = make_filter("ERROR");
  LogScanner sc(f, ScanLimits{.max_line = 100});
  std::string huge = "ERROR " + std::string(10000, 'x');
  // In pieces, so the partial line is held across feeds.
  for (std::size_t i = 0; i < huge.size(); i += 333) sc.feed(std::string_view(huge).substr(i, 333));
  sc.feed("\nshort ERROR\n" + std::string(5000, 'y') + " ERROR\n");
  sc.finish();
  EXPECT_EQ(sc.scanned_lines(), 3u);
  // The third line's match lies beyond max_line: a long line is matched by its start.
  EXPECT_EQ(sc.matched_lines(), 2u);
  ASSERT_EQ(sc.kept().size(), 2u);
  EXPECT_EQ(sc.kept()[0].substr(0, 100), huge.substr(0, 100));
  EXPECT_NE(sc.kept()[0].find("[... 9906 more bytes]"), std::string::npos) << sc.kept()[0];
  EXPECT_LT(sc.kept()[0].size(), 200u);
  EXPECT_EQ(sc.kept()[1], "short ERROR");
}

TEST(LogScanner, TimestampPrefixIsNotPartOfTheMessage) {
  EXPECT_EQ(log_message("2026-01-01T00:00:00.000000001Z ERROR x", true), "ERROR x");
  EXPECT_EQ(log_message("2026-01-01T00:00:00.000000001Z ERROR x", false), "2026-01-01T00:00:00.000000001Z ERROR x");
  EXPECT_EQ(log_message("no stamp here", true), "no stamp here");
  auto f = make_filter("", "^ERROR");
  LogScanner sc(f, ScanLimits{.timestamps = true});
  sc.feed("2026-01-01T00:00:00Z ERROR one\n2026-01-01T00:00:01Z ok\n");
  EXPECT_EQ(sc.text(), "2026-01-01T00:00:00Z ERROR one\n");
}

TEST(ChooseContainer, DefaultsLikeKubectl) {
  auto one = json::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"app"}]}})").as_object();
  EXPECT_EQ(choose_container(one, ""), "app");
  auto two = json::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"},{"name":"b"}],
      "initContainers":[{"name":"init"}]}})")
                 .as_object();
  try {
    choose_container(two, "");
    FAIL() << "expected an error";
  } catch (const mk::Error& e) {
    EXPECT_EQ(e.code(), mk::Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("a, b"), std::string::npos) << e.what();
  }
  EXPECT_EQ(choose_container(two, "init"), "init");
  try {
    choose_container(two, "zzz");
    FAIL() << "expected an error";
  } catch (const mk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("its containers are: a, b, init"), std::string::npos) << e.what();
  }
  auto annotated = two;
  annotated["metadata"].as_object()["annotations"] = json::object{{"kubectl.kubernetes.io/default-container", "b"}};
  EXPECT_EQ(choose_container(annotated, ""), "b");
}

TEST(FitText, CutsOnUtf8BoundaryWithNote) {
  EXPECT_EQ(fit_text("short", 100), "short");
  std::string big(300, 'a');
  big += "\xc3\xa9";  // é
  big += std::string(300, 'b');
  auto out = fit_text(big, 400);
  EXPECT_LT(out.size(), 500u);
  EXPECT_NE(out.find("more bytes not shown"), std::string::npos);
}
