// The server's own guard rails: non-destructive mode, dry-run, allowed operations and the
// namespace allow/deny lists.
#include "safety/policy.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace mk;

namespace {
PolicyConfig config(std::function<void(PolicyConfig&)> f = {}) {
  PolicyConfig c;
  if (f) f(c);
  return c;
}

std::string denial(const Policy& p, std::string_view op) {
  try {
    p.check_operation(op);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::policy_denied);
    return e.what();
  }
  ADD_FAILURE() << op << " should be denied";
  return {};
}
}  // namespace

TEST(Policy, ReadsAlwaysAllowed) {
  Policy p(config());
  for (auto o : {op::get, op::list, op::describe, op::logs}) {
    EXPECT_TRUE(is_read_operation(o));
    EXPECT_TRUE(p.operation_allowed(o)) << o;
    EXPECT_NO_THROW(p.check_operation(o));
  }
}

TEST(Policy, NonDestructiveByDefaultRefusesWrites) {
  Policy p(config());
  for (auto o : {op::create, op::apply, op::patch, op::del, op::scale, op::exec, op::port_forward}) {
    EXPECT_FALSE(is_read_operation(o));
    EXPECT_FALSE(p.operation_allowed(o)) << o;
    auto m = denial(p, o);
    EXPECT_NE(m.find(std::string("'") + std::string(o) + "'"), std::string::npos) << "names the verb: " << m;
    EXPECT_NE(m.find("--non-destructive=false"), std::string::npos) << "names the flag: " << m;
  }
}

TEST(Policy, WritableServerAllowsEverything) {
  Policy p(config([](PolicyConfig& c) { c.non_destructive = false; }));
  for (auto o : {op::create, op::apply, op::patch, op::del, op::scale, op::exec, op::port_forward})
    EXPECT_TRUE(p.operation_allowed(o)) << o;
}

TEST(Policy, AllowedOperationsUnlockSingleVerbs) {
  Policy p(config([](PolicyConfig& c) { c.allowed_operations = {"scale", "exec"}; }));
  EXPECT_TRUE(p.operation_allowed(op::scale));
  EXPECT_TRUE(p.operation_allowed(op::exec));
  EXPECT_FALSE(p.operation_allowed(op::del));
  EXPECT_FALSE(p.operation_allowed(op::patch));
}

TEST(Policy, DryRunUnlocksOnlyDryRunnableWrites) {
  Policy p(config([](PolicyConfig& c) { c.dry_run = true; }));
  EXPECT_TRUE(p.dry_run());
  EXPECT_TRUE(p.operation_allowed(op::apply));
  EXPECT_TRUE(p.operation_allowed(op::del));
  EXPECT_FALSE(p.operation_allowed(op::exec));  // exec cannot be dry-run on the server
  EXPECT_FALSE(p.operation_allowed(op::port_forward));
}

TEST(Policy, NamespaceAllowAndDenyLists) {
  Policy open(config());
  EXPECT_FALSE(open.restricts_namespaces());
  EXPECT_TRUE(open.namespace_allowed("anything"));

  Policy allow(config([](PolicyConfig& c) { c.allowed_namespaces = {"team-a", "team-b"}; }));
  EXPECT_TRUE(allow.restricts_namespaces());
  EXPECT_TRUE(allow.namespace_allowed("team-a"));
  EXPECT_FALSE(allow.namespace_allowed("kube-system"));
  try {
    allow.check_namespace("kube-system");
    ADD_FAILURE() << "kube-system should be denied";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::policy_denied);
    EXPECT_NE(std::string(e.what()).find("\"kube-system\""), std::string::npos) << e.what();
  }

  // Deny beats allow.
  Policy both(config([](PolicyConfig& c) {
    c.allowed_namespaces = {"team-a", "secrets"};
    c.denied_namespaces = {"secrets"};
  }));
  EXPECT_TRUE(both.namespace_allowed("team-a"));
  EXPECT_FALSE(both.namespace_allowed("secrets"));
  Policy deny(config([](PolicyConfig& c) { c.denied_namespaces = {"kube-system"}; }));
  EXPECT_TRUE(deny.restricts_namespaces());
  EXPECT_FALSE(deny.namespace_allowed("kube-system"));
  EXPECT_TRUE(deny.namespace_allowed("default"));
}
