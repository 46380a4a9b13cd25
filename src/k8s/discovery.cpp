#include "k8s/discovery.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

namespace mk::k8s {
namespace json = boost::json;

bool ResourceInfo::has_verb(std::string_view v) const {
  return std::find(verbs.begin(), verbs.end(), v) != verbs.end();
}
bool ResourceInfo::has_subresource(std::string_view s) const {
  return std::find(subresources.begin(), subresources.end(), s) != subresources.end();
}

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string sv(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
std::vector<std::string> strings(const json::object& o, const char* k) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(k); v && v->is_array())
    for (auto& x : v->as_array())
      if (x.is_string()) out.emplace_back(x.as_string());
  return out;
}
// Levenshtein distance, capped: only small distances matter for suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return 99;
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// A "did you mean" candidate: a substring either way or a typo (distance <= 2) of a name.
bool looks_like(const std::string& t, const ResourceInfo& r) {
  const std::string kind = lower(r.kind);
  for (const std::string* name : {&r.plural, &r.singular, &kind}) {
    if (name->empty()) continue;
    if (name->find(t) != std::string::npos) return true;
    if (name->size() >= 3 && t.find(*name) != std::string::npos) return true;
    if (t.size() >= 4 && edit_distance(t, *name) <= 2) return true;
  }
  return false;
}
}  // namespace

void parse_aggregated(const json::value& list, DiscoveryDoc& out) {
  auto* items = list.is_object() ? list.as_object().if_contains("items") : nullptr;
  if (!items || !items->is_array()) return;
  for (auto& g : items->as_array()) {
    if (!g.is_object()) continue;
    std::string group;
    if (auto* md = g.as_object().if_contains("metadata"); md && md->is_object()) group = sv(md->as_object(), "name");
    auto* versions = g.as_object().if_contains("versions");
    if (!versions || !versions->is_array()) continue;
    bool first = true;
    for (auto& v : versions->as_array()) {
      if (!v.is_object()) continue;
      std::string version = sv(v.as_object(), "version");
      if (auto* rs = v.as_object().if_contains("resources"); rs && rs->is_array()) {
        for (auto& r : rs->as_array()) {
          if (!r.is_object()) continue;
          auto& ro = r.as_object();
          ResourceInfo ri;
          ri.group = group;
          ri.version = version;
          ri.plural = sv(ro, "resource");
          ri.singular = sv(ro, "singularResource");
          if (auto* rk = ro.if_contains("responseKind"); rk && rk->is_object()) ri.kind = sv(rk->as_object(), "kind");
          ri.namespaced = sv(ro, "scope") != "Cluster";
          ri.preferred = first;
          ri.verbs = strings(ro, "verbs");
          ri.short_names = strings(ro, "shortNames");
          ri.categories = strings(ro, "categories");
          if (auto* sr = ro.if_contains("subresources"); sr && sr->is_array())
            for (auto& s : sr->as_array())
              if (s.is_object()) ri.subresources.push_back(sv(s.as_object(), "subresource"));
          if (ri.singular.empty()) ri.singular = lower(ri.kind);
          out.resources.push_back(std::move(ri));
        }
      }
      first = false;
    }
  }
}

void parse_resource_list(const json::value& list, const std::string& group, const std::string& version, bool preferred,
                         DiscoveryDoc& out) {
  auto* rs = list.is_object() ? list.as_object().if_contains("resources") : nullptr;
  if (!rs || !rs->is_array()) return;
  std::vector<ResourceInfo> found;
  for (auto& r : rs->as_array()) {
    if (!r.is_object()) continue;
    auto& ro = r.as_object();
    std::string name = sv(ro, "name");
    auto slash = name.find('/');
    if (slash != std::string::npos) {  // "deployments/scale": a subresource of a resource listed earlier
      for (auto& f : found)
        if (f.plural == name.substr(0, slash)) f.subresources.push_back(name.substr(slash + 1));
      continue;
    }
    ResourceInfo ri;
    ri.group = group;
    ri.version = version;
    ri.plural = name;
    ri.singular = sv(ro, "singularName");
    ri.kind = sv(ro, "kind");
    if (ri.singular.empty()) ri.singular = lower(ri.kind);
    auto* ns = ro.if_contains("namespaced");
    ri.namespaced = ns && ns->is_bool() && ns->as_bool();
    ri.preferred = preferred;
    ri.verbs = strings(ro, "verbs");
    ri.short_names = strings(ro, "shortNames");
    ri.categories = strings(ro, "categories");
    found.push_back(std::move(ri));
  }
  for (auto& f : found) out.resources.push_back(std::move(f));
}

const ResourceInfo& resolve_resource(const DiscoveryDoc& d, std::string type, std::string api_group) {
  std::string t = lower(type);
  std::string want_group = lower(api_group), want_version;
  if (want_group == "core") want_group = "";
  if (auto slash = want_group.find('/'); slash != std::string::npos) {
    want_version = want_group.substr(slash + 1);
    want_group.resize(slash);
    if (want_group == "core") want_group = "";
  } else if (want_group == "v1") {  // "v1" alone means the core group's v1
    want_version = "v1";
    want_group = "";
  }
  bool group_given = !api_group.empty();
  // kubectl spellings: "deployments.apps", "deployments.v1.apps"
  if (!group_given) {
    if (auto dot = t.find('.'); dot != std::string::npos) {
      std::string rest = t.substr(dot + 1);
      t.resize(dot);
      group_given = true;
      if (auto d2 = rest.find('.'); d2 != std::string::npos && rest[0] == 'v' && std::isdigit(rest[1])) {
        want_version = rest.substr(0, d2);
        want_group = rest.substr(d2 + 1);
      } else {
        want_group = rest;
      }
    }
  }
  if (t.empty()) fail(Errc::invalid_argument, "resourceType must not be empty");
  std::vector<const ResourceInfo*> cands;
  for (auto& r : d.resources) {
    if (group_given && r.group != want_group) continue;
    if (!want_version.empty() && r.version != want_version) continue;
    bool match = r.plural == t || r.singular == t || lower(r.kind) == t;
    if (!match)
      for (auto& s : r.short_names) match = match || s == t;
    if (match) cands.push_back(&r);
  }
  if (cands.empty()) {
    std::set<std::string> near;
    for (auto& r : d.resources)
      if (looks_like(t, r)) near.insert(r.qualified());
    std::string hint;
    for (auto& n : near) {
      if (hint.size() > 200) break;
      hint += (hint.empty() ? "" : ", ") + n;
    }
    fail(Errc::not_found, fmt::format("the server doesn't have a resource type \"{}\"{}{}", type,
                                      group_given ? " in group \"" + want_group + "\"" : "",
                                      hint.empty() ? "" : " (did you mean: " + hint + "?)"));
  }
  // One entry per group: the preferred version unless a version was asked for.
  std::vector<const ResourceInfo*> per_group;
  for (auto* c : cands) {
    auto it = std::find_if(per_group.begin(), per_group.end(), [&](auto* p) { return p->group == c->group; });
    if (it == per_group.end()) per_group.push_back(c);
    else if (c->preferred && !(*it)->preferred) *it = c;
  }
  if (per_group.size() == 1) return *per_group.front();
  // Core wins, as in kubectl ("events" is core/v1, not events.k8s.io).
  for (auto* c : per_group)
    if (c->group.empty()) return *c;
  std::string names;
  for (auto* c : per_group) names += (names.empty() ? "" : ", ") + c->qualified() + " (" + c->group_version() + ")";
  fail(Errc::invalid_argument,
       fmt::format("resource type \"{}\" is ambiguous: {}; pass apiGroup or use the qualified name", type, names));
}

}  // namespace mk::k8s
