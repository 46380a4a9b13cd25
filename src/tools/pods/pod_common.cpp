#include "tools/pods/pod_common.hpp"

#include "pipeline/arg_rules.hpp"
#include "tools/common/args.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>

namespace mk::tools {
namespace json = boost::json;

PodRef pod_ref(Env& env, const Call& c, std::string name) {
  PodRef r;
  r.context = c.context();
  r.client = c.client();
  r.ns = str(c.args(), "namespace");
  if (r.ns.empty()) r.ns = r.client->default_namespace();
  if (r.ns.empty()) r.ns = "default";
  env.policy().check_namespace(r.ns);
  if (name.empty()) fail(Errc::invalid_argument, "pod name must not be empty");
  pipeline::require_valid(pipeline::ArgKind::object_name, name, "name");
  r.name = std::move(name);
  return r;
}

boost::asio::awaitable<json::object> fetch_pod(PodRef ref) {
  auto v = co_await ref.client->get_json(
      fmt::format("/api/v1/namespaces/{}/pods/{}", k8s::url_encode(ref.ns), k8s::url_encode(ref.name)));
  if (!v.is_object()) fail(Errc::unavailable, "API server returned a pod that is not an object");
  co_return std::move(v.as_object());
}

std::vector<std::string> container_names(const json::object& pod, bool all_kinds) {
  std::vector<std::string> out;
  auto* spec = pod.if_contains("spec");
  if (!spec || !spec->is_object()) return out;
  std::vector<const char*> kinds{"containers"};
  if (all_kinds) kinds = {"containers", "initContainers", "ephemeralContainers"};
  for (auto* k : kinds)
    if (auto* cs = spec->as_object().if_contains(k); cs && cs->is_array())
      for (auto& c : cs->as_array())
        if (c.is_object())
          if (auto* n = c.as_object().if_contains("name"); n && n->is_string()) out.emplace_back(n->as_string());
  return out;
}

std::string choose_container(const json::object& pod, const std::string& requested) {
  auto all = container_names(pod, true);
  auto regular = container_names(pod, false);
  std::string pod_name;
  if (auto* md = pod.if_contains("metadata"); md && md->is_object())
    if (auto* n = md->as_object().if_contains("name"); n && n->is_string()) pod_name = n->as_string();
  if (!requested.empty()) {
    if (std::find(all.begin(), all.end(), requested) != all.end()) return requested;
    fail(Errc::invalid_argument, fmt::format("container \"{}\" is not in pod \"{}\"; its containers are: {}", requested,
                                             pod_name, fmt::join(all, ", ")));
  }
  if (auto* md = pod.if_contains("metadata"); md && md->is_object())
    if (auto* an = md->as_object().if_contains("annotations"); an && an->is_object())
      if (auto* d = an->as_object().if_contains("kubectl.kubernetes.io/default-container"); d && d->is_string()) {
        std::string name(d->as_string());
        if (std::find(all.begin(), all.end(), name) != all.end()) return name;
      }
  if (regular.size() == 1) return regular.front();
  if (regular.empty()) fail(Errc::invalid_argument, fmt::format("pod \"{}\" has no containers", pod_name));
  fail(Errc::invalid_argument, fmt::format("pod \"{}\" has {} containers; name one with `container`: {}", pod_name,
                                           regular.size(), fmt::join(regular, ", ")));
}

std::string fit_text(std::string_view text, std::size_t budget) {
  if (text.size() <= budget) return std::string(text);
  auto keep = utf8_prefix(text, budget > 200 ? budget - 200 : 0);
  return fmt::format("{}\n[... {} more bytes not shown; the structured result has them]", keep,
                     text.size() - keep.size());
}

}  // namespace mk::tools
