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
