#include "federation/workload_kubeconfig.hpp"

#include "util/error.hpp"
#include "util/yaml.hpp"

#include <fmt/core.h>

namespace mk::federation {
namespace json = boost::json;

std::string kubeconfig_from_secret(const json::object& secret) {
  auto* data = secret.if_contains("data");
  if (data && data->is_object()) {
    for (const char* key : {"value", "kubeconfig"}) {
      auto* v = data->as_object().if_contains(key);
      if (v && v->is_string() && !v->as_string().empty()) {
        try {
          return k8s::base64_decode(v->as_string());
        } catch (const Error&) {
          fail(Errc::invalid_argument, fmt::format("the kubeconfig Secret's key \"{}\" is not valid base64", key));
        }
      }
    }
  }
  fail(Errc::not_found, "the kubeconfig Secret has neither a \"value\" nor a \"kubeconfig\" key");
}

namespace {

const json::array& list(const json::object& o, std::string_view k) {
  static const json::array empty;
  auto* v = o.if_contains(k);
  return v && v->is_array() ? v->as_array() : empty;
}

bool present(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && !v->is_null() && !(v->is_string() && v->as_string().empty());
}

void refuse(std::string_view what) {
  fail(Errc::policy_denied,
       fmt::format("the workload cluster's kubeconfig Secret uses {}; only inline credentials "
                   "(certificate-authority-data, client-certificate-data, client-key-data, token) are accepted",
                   what));
}

}  // namespace

k8s::RestConfig parse_workload_kubeconfig(const std::string& text) {
  // Small on purpose: a kubeconfig with one admin certificate is a few KiB.
  yaml::ManifestLimits limits;
  limits.max_bytes = 1u << 20;
  limits.max_nodes = 10'000;
  limits.subject = "workload kubeconfig";
  auto docs = yaml::yaml_to_json(text, limits, yaml::YamlScalars::strings);
  if (docs.empty() || !docs.front().is_object()) fail(Errc::invalid_argument, "the workload kubeconfig is empty");
  auto& root = docs.front().as_object();
  // Checked before k8s::parse_kubeconfig, which would read the files.
  for (auto& c : list(root, "clusters")) {
    if (!c.is_object()) continue;
    auto* cl = c.as_object().if_contains("cluster");
    if (!cl || !cl->is_object()) continue;
    if (present(cl->as_object(), "certificate-authority")) refuse("a certificate-authority file path");
  }
  for (auto& u : list(root, "users")) {
    if (!u.is_object()) continue;
    auto* us = u.as_object().if_contains("user");
    if (!us || !us->is_object()) continue;
    auto& o = us->as_object();
    if (present(o, "exec")) refuse("an exec credential plugin");
    if (present(o, "auth-provider")) refuse("an auth-provider plugin");
    for (const char* f : {"client-certificate", "client-key", "tokenFile"})
      if (present(o, f)) refuse(fmt::format("a {} file path", f));
  }
  auto kc = k8s::parse_kubeconfig(text, "");
  std::string ctx = kc.current_context;
  if (ctx.empty() || !kc.find_context(ctx)) {
    if (kc.contexts.empty()) fail(Errc::invalid_argument, "the workload kubeconfig has no context");
    ctx = kc.contexts.front().name;
  }
  auto rc = k8s::rest_config_for(kc, ctx);
  // Defence in depth: what the checks above refused must not have come through another way.
  if (rc.auth.exec || rc.auth.has_auth_provider || !rc.auth.token_file.empty()) refuse("a plugin or file");
  if (!rc.cluster.server.starts_with("https://")) refuse("a server that is not https://");
  if (rc.cluster.insecure_skip_tls_verify) refuse("insecure-skip-tls-verify");
  // Impersonation is this server's decision, never the Secret's.
  rc.auth.impersonate.clear();
  rc.auth.impersonate_groups.clear();
  rc.auth.impersonate_extra.clear();
  rc.namespace_ = "default";
  return rc;
}

}  // namespace mk::federation
