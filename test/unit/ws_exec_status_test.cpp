#include "k8s/portforward.hpp"
#include "k8s/stream_exec.hpp"

#include "instrumentation/trace.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

using mk::k8s::parse_exec_status;

TEST(ExecStatus, SuccessIsExitZero) {
  auto s = parse_exec_status(R"({"metadata":{},"status":"Success"})");
  ASSERT_TRUE(s.exit_code);
  EXPECT_EQ(*s.exit_code, 0);
  EXPECT_TRUE(s.error.empty());
}

TEST(ExecStatus, NonZeroExitCodeCause) {
  auto s = parse_exec_status(R"({"status":"Failure","message":"command terminated with non-zero exit code: 7",
    "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}})");
  ASSERT_TRUE(s.exit_code);
  EXPECT_EQ(*s.exit_code, 7);
}

TEST(ExecStatus, KwokInternalErrorWithExitStatus) {
  auto s = parse_exec_status(R"({"status":"Failure","reason":"InternalError",
    "message":"Internal error occurred: error executing command in container: exit status 3"})");
  ASSERT_TRUE(s.exit_code);
  EXPECT_EQ(*s.exit_code, 3);
}

TEST(ExecStatus, OtherFailuresAreErrors) {
  auto s = parse_exec_status(R"({"status":"Failure","reason":"InternalError",
    "message":"exec: \"nope\": executable file not found in $PATH"})");
  EXPECT_FALSE(s.exit_code);
  EXPECT_NE(s.error.find("executable file not found"), std::string::npos);
  auto junk = parse_exec_status("not json");
  EXPECT_FALSE(junk.exit_code);
  EXPECT_NE(junk.error.find("unreadable exec status"), std::string::npos);
  // A malformed ExitCode cause does not become a made-up exit code.
  auto odd = parse_exec_status(R"({"status":"Failure","reason":"NonZeroExitCode","message":"x",
    "details":{"causes":[{"reason":"ExitCode","message":"seven"}]}})");
  EXPECT_FALSE(odd.exit_code);
}

namespace {
struct Spans : mk::trace::SpanSink {
  std::vector<std::unique_ptr<mk::trace::SpanData>> got;
  void on_end(std::unique_ptr<mk::trace::SpanData> s) override { got.push_back(std::move(s)); }
};
}  // namespace

TEST(ExecSpan, AFailureRecordsItsReasonNeverTheRuntimesMessage) {
  auto sink = std::make_shared<Spans>();
  mk::trace::Tracer t(mk::trace::Sampler(), sink);
  auto failed = parse_exec_status(R"({"status":"Failure","reason":"InternalError",
    "message":"exec: \"sh -c curl -H token:hunter2\": executable file not found"})");
  EXPECT_EQ(failed.reason, "InternalError");
  mk::k8s::ExecOutcome r;
  r.failure = failed.error;
  r.failure_reason = failed.reason;
  r.protocol = "v5.channel.k8s.io";
  {
    auto span = t.start("GET exec", mk::trace::SpanKind::client, nullptr);
    mk::k8s::record_exec_outcome(span, r);
  }
  r.failure_reason = "Internal Error: hunter2";  // not a StatusReason word: not recorded either
  {
    auto span = t.start("GET exec", mk::trace::SpanKind::client, nullptr);
    mk::k8s::record_exec_outcome(span, r);
  }
  ASSERT_EQ(sink->got.size(), 2u);
  for (auto& d : sink->got) {
    EXPECT_EQ(d->status, mk::trace::Status::error);
    EXPECT_EQ(d->status_message.find("hunter2"), std::string::npos) << d->status_message;
    for (auto& a : d->attributes())
      if (auto* v = std::get_if<std::string_view>(&a.value)) EXPECT_EQ(v->find("hunter2"), std::string::npos) << a.key;
  }
  EXPECT_EQ(sink->got[0]->status_message, "the exec ended without an exit code: InternalError");
  EXPECT_EQ(std::get<std::string_view>(*sink->got[0]->find("k8s.status.reason")), "InternalError");
  EXPECT_EQ(sink->got[1]->find("k8s.status.reason"), nullptr);
}

TEST(ExecTarget, RepeatsCommandAndEncodes) {
  mk::k8s::ExecOptions o;
  o.ns = "ns";
  o.pod = "p";
  o.container = "c";
  o.command = {"sh", "-c", "echo a&b"};
  auto t = mk::k8s::exec_target(o);
  EXPECT_EQ(t.rfind("/api/v1/namespaces/ns/pods/p/exec?", 0), 0u) << t;
  EXPECT_NE(t.find("command=sh&command=-c&command=echo%20a%26b"), std::string::npos) << t;
  EXPECT_NE(t.find("container=c"), std::string::npos);
  EXPECT_EQ(t.find("stdin=true"), std::string::npos);
  o.stdin_data = "x";
  EXPECT_NE(mk::k8s::exec_target(o).find("stdin=true"), std::string::npos);
}

TEST(PortForwardTarget, PathAndPort) {
  EXPECT_EQ(mk::k8s::portforward_target("ns", "pod-1", 8080),
            "/api/v1/namespaces/ns/pods/pod-1/portforward?ports=8080");
}
