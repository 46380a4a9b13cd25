// k8s_list_resources: server-side paging that never drops items, kubectl-style columns from
// the API server's Table rendering, full objects on request, and a summary over all pages.
#include "output/redact.hpp"
#include "output/slim.hpp"
#include "output/table.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/resources/resource_tools.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <map>

namespace mk::tools {
namespace {
namespace json = boost::json;
using mcp::ToolResult;

constexpr std::int64_t kDefaultLimit = 100;
constexpr std::int64_t kMaxLimit = 1000;
constexpr std::size_t kSummaryMaxItems = 20000;
constexpr const char* kTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

k8s::Query list_query(const json::object& a, std::int64_t limit, const std::string& cont) {
  k8s::Query q;
  if (auto l = str(a, "labelSelector"); !l.empty()) q.emplace_back("labelSelector", l);
  if (auto f = str(a, "fieldSelector"); !f.empty()) q.emplace_back("fieldSelector", f);
  if (limit > 0) q.emplace_back("limit", std::to_string(limit));
  if (!cont.empty()) q.emplace_back("continue", cont);
  return q;
}

boost::asio::awaitable<json::value> fetch_table(Target& t, k8s::Query q, bool with_metadata) {
  // Without an explicit None the API server attaches every row's metadata (managedFields
  // included): ~14x the bytes for a pod list. Metadata only when rows need their namespace.
  q.emplace_back("includeObject", with_metadata ? "Metadata" : "None");
  k8s::Request r;
  r.target = k8s::Client::with_query(t.path(), q);
  r.accept = kTableAccept;
  co_return co_await t.client->call_json(std::move(r));  // big answers are parsed off the I/O thread
}

bool is_namespace_kind(const Target& t) { return t.resource.group.empty() && t.resource.plural == "namespaces"; }

// Removes rows in namespaces the policy hides (for the Namespace type: the namespaces it
// hides); returns how many.
std::size_t filter_namespaces(Env& env, const Target& target, output::Table& t) {
  if (!env.policy().restricts_namespaces()) return 0;
  std::size_t hidden = 0;
  std::optional<std::size_t> name_col;
  if (is_namespace_kind(target))
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i] == "NAME") name_col = i;
  output::Table out = t;
  out.rows.clear();
  out.row_namespaces.clear();
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const std::string& ns = name_col && *name_col < t.rows[i].size() ? t.rows[i][*name_col] : t.row_namespaces[i];
    if (!ns.empty() && !env.policy().namespace_allowed(ns)) {
      ++hidden;
      continue;
    }
    out.rows.push_back(t.rows[i]);
    out.row_namespaces.push_back(t.row_namespaces[i]);
  }
  t = std::move(out);
  return hidden;
}

std::string status_bucket(const output::Table& t, const std::vector<std::string>& row) {
  for (std::size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i] == "STATUS" || t.columns[i] == "PHASE") return row[i];
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i] != "READY") continue;
    auto slash = row[i].find('/');
    if (slash == std::string::npos) return row[i];
    auto have = row[i].substr(0, slash), want = row[i].substr(slash + 1);
    if (want == "0") return "ScaledToZero";
    return have == want ? "Ready" : "NotReady";
  }
  return {};
}

json::object more_marker(const output::Table& t) {
  json::object o{{"hasMore", !t.continue_token.empty()}};
  if (!t.continue_token.empty()) o["continue"] = t.continue_token;
  if (t.remaining) o["remainingItemCount"] = *t.remaining;
  return o;
}

std::string more_text(const output::Table& t) {
  if (t.continue_token.empty()) return {};
  return fmt::format("-- more available{}; call again with continue=\"{}\"\n",
                     t.remaining ? fmt::format(" ({} remaining)", *t.remaining) : "", t.continue_token);
}

boost::asio::awaitable<ToolResult> list_summary(Env& env, Target& t, const json::object& a) {
  std::map<std::string, std::int64_t> by_status, by_ns;
  std::size_t total = 0, hidden = 0;
  std::string cont;
  bool truncated = false;
  do {
    auto v = co_await fetch_table(t, list_query(a, 500, cont), true);
    auto tab = output::parse_table(v, false);
    hidden += filter_namespaces(env, t, tab);
    for (std::size_t i = 0; i < tab.rows.size(); ++i) {
      ++total;
      if (auto s = status_bucket(tab, tab.rows[i]); !s.empty()) ++by_status[s];
      if (!tab.row_namespaces[i].empty()) ++by_ns[tab.row_namespaces[i]];
    }
    cont = tab.continue_token;
    if (total >= kSummaryMaxItems && !cont.empty()) truncated = true;
  } while (!cont.empty() && !truncated);
  json::object s{{"resource", t.resource.qualified()}, {"total", total}};
  json::object st, ns;
  for (auto& [k, n] : by_status) st[k] = n;
  for (auto& [k, n] : by_ns) ns[k] = n;
  if (!st.empty()) s["byStatus"] = std::move(st);
  if (!ns.empty()) s["byNamespace"] = std::move(ns);
  if (hidden) s["hiddenByNamespacePolicy"] = hidden;
  if (truncated) s["truncatedAt"] = kSummaryMaxItems;
  std::string text = fmt::format("{} {}{}\n", total, t.resource.plural, truncated ? " (stopped counting at cap)" : "");
  for (auto& [k, n] : by_status) text += fmt::format("status {}: {}\n", k, n);
  for (auto& [k, n] : by_ns) text += fmt::format("namespace {}: {}\n", k, n);
  co_return ToolResult{std::move(s), std::move(text)};
}

boost::asio::awaitable<ToolResult> list_full(Env& env, Target& t, const json::object& a, std::int64_t limit) {
  auto v = co_await t.client->get_json(t.path(), list_query(a, limit, str(a, "continue")));
  auto& o = v.as_object();
  json::array items;
  std::size_t hidden = 0;
  std::string kind;
  if (auto* k = o.if_contains("kind"); k && k->is_string()) kind = k->as_string();
  std::string item_kind = kind.size() > 4 && kind.ends_with("List") ? kind.substr(0, kind.size() - 4) : kind;
  bool slim = str(a, "output", "slim") != "full";
  if (auto* it = o.if_contains("items"); it && it->is_array()) {
    for (auto& x : it->as_array()) {
      auto& xo = x.as_object();
      std::string ns = is_namespace_kind(t) ? pipeline::object_name(xo) : t.all_namespaces ? object_namespace(xo) : "";
      if (!ns.empty() && !env.policy().namespace_allowed(ns)) {
        ++hidden;
        continue;
      }
      // List items carry no kind/apiVersion; add them so each item stands alone.
      if (!xo.contains("kind")) xo["kind"] = item_kind;
      if (!xo.contains("apiVersion")) xo["apiVersion"] = t.resource.group_version();
      if (slim) output::slim_object(xo);
      items.push_back(std::move(x));
    }
  }
  json::value iv = std::move(items);
  if (!env.settings().show_secret_values) output::redact_secrets(iv);
  json::object out{{"resource", t.resource.qualified()}, {"items", std::move(iv)}};
  std::string cont;
  std::optional<std::int64_t> remaining;
  if (auto* md = o.if_contains("metadata"); md && md->is_object()) {
    if (auto* c = md->as_object().if_contains("continue"); c && c->is_string()) cont = c->as_string();
    if (auto* r = md->as_object().if_contains("remainingItemCount"); r && r->is_number())
      remaining = r->to_number<std::int64_t>();
  }
  out["count"] = out["items"].as_array().size();
  out["hasMore"] = !cont.empty();
  if (!cont.empty()) out["continue"] = cont;
  if (remaining) out["remainingItemCount"] = *remaining;
  if (hidden) out["hiddenByNamespacePolicy"] = hidden;
  std::string text = co_await k8s::serialize_off_thread(out);  // big lists: not on the I/O thread
  co_return ToolResult{std::move(out), std::move(text)};
}
}  // namespace

boost::asio::awaitable<ToolResult> list_resources(Env& env, Call& c) {
  auto& a = c.args();
  auto t = co_await resolve_target(env, c, /*write=*/false, /*allow_all_namespaces=*/true);
  auto limit = opt_int(a, "limit").value_or(kDefaultLimit);
  std::string mode = str(a, "output", "");
  if (flag(a, "summary")) mode = "summary";
  if (flag(a, "fullOutput") && mode != "summary") mode = mode == "full" ? "full" : "slim";
  if (mode == "summary") co_return co_await list_summary(env, t, a);
  if (mode == "slim" || mode == "full") co_return co_await list_full(env, t, a, limit);

  bool wide = mode == "wide";
  bool need_ns = t.all_namespaces;
  auto v = co_await fetch_table(t, list_query(a, limit, str(a, "continue")), need_ns);
  // kubectl hides a pod's node unless -o wide; it is the first thing asked after a failure.
  std::vector<std::string_view> promote;
  if (t.resource.group.empty() && t.resource.plural == "pods") promote.push_back("Node");
  auto tab = output::parse_table(v, wide, promote);
  std::size_t hidden = need_ns || is_namespace_kind(t) ? filter_namespaces(env, t, tab) : 0;
  if (need_ns) add_namespace_column(tab);
  json::array cols, rows;
  for (auto& col : tab.columns) cols.push_back(json::string(col));
  for (auto& r : tab.rows) {
    json::array row;
    for (auto& cell : r) row.push_back(json::string(cell));
    rows.push_back(std::move(row));
  }
  json::object out{{"resource", t.resource.qualified()},
                   {"namespace", t.all_namespaces ? "*" : t.ns},
                   {"columns", std::move(cols)},
                   {"rows", std::move(rows)},
                   {"count", tab.rows.size()}};
  for (auto& [k, val] : more_marker(tab)) out[k] = val;
  if (hidden) out["hiddenByNamespacePolicy"] = hidden;
  if (!t.hint.empty()) out["hint"] = t.hint;
  std::string text =
      tab.rows.empty() ? fmt::format("No {} found{}.\n", t.resource.plural, t.ns.empty() ? "" : " in namespace " + t.ns)
                       : output::render_tsv(tab);
  text += more_text(tab);
  if (hidden) text += fmt::format("-- {} items hidden by the namespace policy\n", hidden);
  co_return ToolResult{std::move(out), std::move(text)};
}

json::object list_input_schema() {
  return schema::with_context(schema::object(
      {{"resourceType", schema::string("resource type: plural, singular, Kind or short name (pods, deploy, "
                                       "Deployment, deployments.apps); CRDs included")},
       {"apiGroup", schema::string("API group or group/version to disambiguate (apps, apps/v1, core)")},
       {"namespace", schema::string("namespace (default: the context's namespace); ignored for cluster-scoped types")},
       {"allNamespaces", schema::boolean("list across all namespaces")},
       {"labelSelector", schema::string("label selector, e.g. app=web,tier!=db")},
       {"fieldSelector", schema::string("field selector, e.g. status.phase=Running")},
       {"limit", schema::integer("page size (default 100)", 1, kMaxLimit)},
       {"continue", schema::string("continue token from a previous page")},
       {"output", schema::string_enum("table (default, kubectl columns), wide, slim (objects without "
                                      "managedFields), full (complete objects), summary (counts over all pages)",
                                      {"table", "wide", "slim", "full", "summary"})},
       {"fullOutput", schema::boolean("same as output=slim (compatibility)")},
       {"summary", schema::boolean("same as output=summary (compatibility)")}},
      {"resourceType"}));
}

}  // namespace mk::tools
