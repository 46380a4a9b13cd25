// k8s_get_api_resources: `kubectl api-resources` from cached discovery, with filters. A filter
// that matches nothing re-reads discovery once, so a CRD installed a moment ago shows up.
#include "tools/cluster/cluster_tools.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace mk::tools {
namespace {
namespace json = boost::json;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Filter {
  bool any_group = true;
  std::string group, version;
  std::optional<bool> namespaced;
  std::string verb, search;

  static Filter from(const json::object& a) {
    Filter f;
    if (auto g = opt_str(a, "apiGroup"); g && !g->empty()) {
      f.any_group = false;
      std::string s = lower(*g);
      if (auto slash = s.find('/'); slash != std::string::npos) {
        f.version = s.substr(slash + 1);
        s.resize(slash);
      } else if (s == "v1") {  // the core group's version, as in apiVersion: v1
        f.version = "v1";
        s = "";
      }
      f.group = s == "core" ? "" : s;
    }
    if (auto* n = a.if_contains("namespaced"); n && n->is_bool()) f.namespaced = n->as_bool();
    f.verb = lower(str(a, "verb"));
    f.search = lower(str(a, "search"));
    return f;
  }

  bool active() const { return !any_group || namespaced || !verb.empty() || !search.empty(); }

  bool match(const k8s::ResourceInfo& r) const {
    if (!any_group && r.group != group) return false;
    // One version per group, the preferred one, unless a version was asked for.
    if (!version.empty() ? r.version != version : !r.preferred) return false;
    if (namespaced && r.namespaced != *namespaced) return false;
    if (!verb.empty() && !r.has_verb(verb)) return false;
    if (search.empty()) return true;
    if (r.plural.find(search) != std::string::npos || lower(r.kind).find(search) != std::string::npos ||
        r.singular.find(search) != std::string::npos)
      return true;
    return std::any_of(r.short_names.begin(), r.short_names.end(),
                       [&](const std::string& s) { return lower(s).find(search) != std::string::npos; });
  }
};

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (auto& s : v) a.push_back(json::string(s));
  return a;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}
}  // namespace

boost::asio::awaitable<mcp::ToolResult> get_api_resources(Env& env, Call& c) {
  auto& a = c.args();
  auto filter = Filter::from(a);
  auto client = c.client();
  bool refreshed = flag(a, "refresh");
  auto doc = co_await client->discovery(refreshed);
  std::vector<const k8s::ResourceInfo*> hits;
  auto collect = [&] {
    hits.clear();
    for (auto& r : doc->resources)
      if (filter.match(r)) hits.push_back(&r);
  };
  collect();
  if (hits.empty() && filter.active() && !refreshed) {
    doc = co_await client->discovery(true);  // maybe a type registered after we last looked
    refreshed = true;
    collect();
  }

  json::array items;
  std::string text = "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND\tVERBS\tCATEGORIES\n";
  for (auto* r : hits) {
    items.push_back(json::object{{"name", r->plural},
                                 {"group", r->group},
                                 {"version", r->version},
                                 {"apiVersion", r->group_version()},
                                 {"kind", r->kind},
                                 {"namespaced", r->namespaced},
                                 {"verbs", strings(r->verbs)},
                                 {"shortNames", strings(r->short_names)},
                                 {"categories", strings(r->categories)}});
    text += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\n", r->plural, join(r->short_names), r->group_version(),
                        r->namespaced ? "true" : "false", r->kind, join(r->verbs), join(r->categories));
  }
  if (hits.empty()) text = "No API resources match the filters.\n";
  json::object out{{"resources", std::move(items)}, {"count", hits.size()}, {"context", c.context()}};
  if (refreshed) out["discoveryRefreshed"] = true;
  co_return mcp::ToolResult{std::move(out), std::move(text)};
}

json::object api_resources_input_schema() {
  return schema::with_context(schema::object(
      {{"apiGroup", schema::string("only this API group (\"core\" for the core group; \"apps/v1\" also "
                                   "picks a version, otherwise each group's preferred version is listed)")},
       {"namespaced", schema::boolean("true: only namespaced types; false: only cluster-scoped types")},
       {"verb", schema::string("only types supporting this verb, e.g. list, watch, patch")},
       {"search", schema::string("case-insensitive substring of the plural name, kind, singular or a short name")},
       {"refresh", schema::boolean("re-read API discovery first (new CRDs, removed API services)")}}));
}

}  // namespace mk::tools
