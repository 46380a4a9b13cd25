// k8s_describe_resource: in one call what `kubectl describe` shows: the object (slim and
// redacted), its own events newest first (matched by kind, namespace and uid, not just by name),
// the chain of owners up to the top controller, pod container states with restart reasons,
// conditions and replica status.
#include "output/redact.hpp"
#include "output/slim.hpp"
#include "tools/common/args.hpp"
#include "tools/common/schema.hpp"
#include "tools/common/tool.hpp"
#include "tools/resources/describe_sections.hpp"
#include "tools/resources/resource_tools.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <set>

namespace mk::tools {
namespace {
namespace json = boost::json;
using mcp::ToolResult;

constexpr std::int64_t kDefaultEventsLimit = 20;
constexpr std::int64_t kMaxEventsLimit = 200;
constexpr int kEventPageSize = 500;
constexpr std::size_t kMaxEventsScanned = 2000;  // an object with more events than this is an outlier
constexpr int kMaxOwnerDepth = 5;
constexpr std::size_t kSpecTextCap = 1500;

std::string sget(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* v = nullptr;
  const json::object* cur = &o;
  for (auto k : path) {
    if (!cur) return {};
    v = cur->if_contains(k);
    if (!v) return {};
    cur = v->is_object() ? &v->as_object() : nullptr;
  }
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::object* oget(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

// Rethrows what must end the call (cancellation); other errors of a section become notes.
void rethrow_if_fatal(const Error& e) {
  if (e.code() == Errc::cancelled) throw e;
}

std::string error_note(const Error& e) { return fmt::format("{}: {}", to_string(e.code()), e.what()); }

struct EventsResult {
  json::array events;
  std::size_t total = 0;
  bool truncated = false;  // more events exist than were scanned
  std::size_t hidden = 0;  // in namespaces the policy hides
  std::string error;
};

boost::asio::awaitable<EventsResult> fetch_events(Env& env, std::shared_ptr<k8s::Client> client, describe::Subject subj,
                                                  std::int64_t limit) {
  EventsResult r;
  // Events of a cluster-scoped object (a Node, a PV) may live in any namespace.
  std::string path = subj.ns.empty() ? "/api/v1/events" : "/api/v1/namespaces/" + k8s::url_encode(subj.ns) + "/events";
  std::string selector = fmt::format("involvedObject.name={},involvedObject.namespace={}", subj.name, subj.ns);
  std::vector<describe::EventRow> rows;
  std::string cont;
  std::size_t scanned = 0;
  try {
    do {
      k8s::Query q{{"fieldSelector", selector}, {"limit", std::to_string(kEventPageSize)}};
      if (!cont.empty()) q.emplace_back("continue", cont);
      auto v = co_await client->get_json(path, q);
      auto& o = v.as_object();
      if (auto* items = o.if_contains("items"); items && items->is_array()) {
        for (auto& it : items->as_array()) {
          ++scanned;
          if (!it.is_object() || !describe::event_is_about(it.as_object(), subj)) continue;
          if (subj.ns.empty() && !env.policy().namespace_allowed(object_namespace(it.as_object()))) {
            ++r.hidden;
            continue;
          }
          rows.push_back(describe::event_row(it.as_object()));
        }
      }
      cont = sget(o, {"metadata", "continue"});
    } while (!cont.empty() && scanned < kMaxEventsScanned);
  } catch (const Error& e) {
    rethrow_if_fatal(e);
    r.error = error_note(e);  // the object itself is still worth returning
  }
  r.truncated = !cont.empty();
  r.total = rows.size();
  describe::sort_newest_first(rows);
  auto now = describe::now_us();
  for (std::size_t i = 0; i < rows.size() && static_cast<std::int64_t>(i) < limit; ++i)
    r.events.push_back(describe::event_json(rows[i], now));
  co_return r;
}

// The owner reference to follow: the controller, else the first one.
const json::object* pick_owner(const json::object& obj, std::size_t& count) {
  count = 0;
  auto* md = oget(obj, "metadata");
  auto* refs = md ? md->if_contains("ownerReferences") : nullptr;
  if (!refs || !refs->is_array() || refs->as_array().empty()) return nullptr;
  const json::object* pick = nullptr;
  for (auto& r : refs->as_array()) {
    if (!r.is_object()) continue;
    ++count;
    auto* ctl = r.as_object().if_contains("controller");
    if (ctl && ctl->is_bool() && ctl->as_bool() && !pick) pick = &r.as_object();
  }
  if (!pick)
    for (auto& r : refs->as_array())
      if (r.is_object()) return &r.as_object();
  return pick;
}

std::string owner_summary(const json::object& owner) {
  auto rs = describe::replica_status(owner);
  if (rs.empty()) return {};
  auto num = [&](const char* k) -> std::int64_t {
    auto* v = rs.if_contains(k);
    return v && v->is_int64() ? v->as_int64() : 0;
  };
  if (rs.contains("desiredNumberScheduled"))
    return fmt::format("{}/{} ready", num("numberReady"), num("desiredNumberScheduled"));
  return fmt::format("{}/{} ready", num("readyReplicas"), rs.contains("desired") ? num("desired") : num("replicas"));
}

// Follows ownerReferences upward (Pod -> ReplicaSet -> Deployment), bounded; owners that are
// gone, forbidden or of unknown types end the chain with a note instead of failing the call.
boost::asio::awaitable<json::array> owner_chain(std::shared_ptr<k8s::Client> client, std::string ns,
                                                json::object start) {
  json::array chain;
  json::object cur = std::move(start);
  std::set<std::string> seen;
  for (int depth = 0;; ++depth) {
    std::size_t n_refs = 0;
    auto* ref = pick_owner(cur, n_refs);
    if (!ref) break;
    json::object entry{
        {"kind", sget(*ref, {"kind"})}, {"name", sget(*ref, {"name"})}, {"apiVersion", sget(*ref, {"apiVersion"})}};
    std::string want_uid = sget(*ref, {"uid"});
    if (!want_uid.empty()) entry["uid"] = want_uid;
    if (auto* ctl = ref->if_contains("controller"); ctl && ctl->is_bool()) entry["controller"] = ctl->as_bool();
    if (n_refs > 1) entry["otherOwners"] = n_refs - 1;
    if (depth >= kMaxOwnerDepth) {
      entry["error"] = fmt::format("not followed: owner chain longer than {}", kMaxOwnerDepth);
      chain.push_back(std::move(entry));
      break;
    }
    if (!want_uid.empty() && !seen.insert(want_uid).second) {
      entry["error"] = "ownership cycle";
      chain.push_back(std::move(entry));
      break;
    }
    std::string kind = sget(entry, {"kind"}), name = sget(entry, {"name"}), api_version = sget(entry, {"apiVersion"});
    json::value owner;
    std::string note;
    try {
      auto ri = co_await client->resolve(kind, api_version);
      // Built outside the co_await: g++ 12 destroys temporaries of a ?: inside co_await twice.
      std::string owner_ns;
      if (ri.namespaced) owner_ns = ns;
      auto path = k8s::Client::path_for(ri, owner_ns, name);
      owner = co_await client->get_json(path);
    } catch (const Error& e) {
      rethrow_if_fatal(e);
      note = error_note(e);
    }
    if (note.empty() && !owner.is_object()) note = "Internal: owner is not an object";
    if (note.empty()) {
      std::string got_uid = sget(owner.as_object(), {"metadata", "uid"});
      if (!want_uid.empty() && got_uid != want_uid)
        note = fmt::format("NotFound: the owner with uid {} is gone (a newer object has this name)", want_uid);
    }
    if (!note.empty()) {
      entry["error"] = note;
      chain.push_back(std::move(entry));
      break;
    }
    if (auto sm = owner_summary(owner.as_object()); !sm.empty()) entry["summary"] = sm;
    chain.push_back(std::move(entry));
    cur = std::move(owner.as_object());
  }
  co_return chain;
}

std::string join_map(const json::object* m, std::size_t value_cap) {
  if (!m) return "<none>";
  std::string out;
  for (auto& [k, v] : *m) {
    if (k == "kubectl.kubernetes.io/last-applied-configuration") continue;  // a copy of the object
    if (!out.empty()) out += ", ";
    out += std::string(k);
    if (value_cap)
      out += "=" + describe::truncate_utf8(v.is_string() ? std::string(v.as_string()) : json::serialize(v), value_cap);
  }
  return out.empty() ? "<none>" : describe::truncate_utf8(out, 1000);
}

std::string data_keys(const json::object& o, bool sizes) {
  std::string out;
  for (auto* key : {"data", "stringData", "binaryData"}) {
    auto* m = oget(o, key);
    if (!m) continue;
    for (auto& [k, v] : *m) {
      if (!out.empty()) out += ", ";
      out += std::string(k);
      if (sizes && v.is_string()) out += fmt::format(" ({} bytes)", v.as_string().size());
    }
  }
  return out.empty() ? "<none>" : describe::truncate_utf8(out, 1500);
}

// kubectl-describe-like header lines plus the kind-specific middle part.
std::string render_object(const json::object& o, const std::string& kind, const std::string& api_version, bool is_pod,
                          bool has_replicas, std::int64_t now) {
  std::string out;
  auto* md = oget(o, "metadata");
  static const json::object empty;
  const json::object& m = md ? *md : empty;
  out += fmt::format("Name:        {}\n", sget(m, {"name"}));
  if (auto ns = sget(m, {"namespace"}); !ns.empty()) out += fmt::format("Namespace:   {}\n", ns);
  out += fmt::format("Kind:        {} ({})\n", kind, api_version);
  if (auto ct = sget(m, {"creationTimestamp"}); !ct.empty())
    out += fmt::format("Created:     {} ({} ago)\n", ct, describe::age(ct, now));
  if (auto dt = sget(m, {"deletionTimestamp"}); !dt.empty()) out += fmt::format("Terminating: since {}\n", dt);
  out += fmt::format("Labels:      {}\n", join_map(oget(m, "labels"), 120));
  if (auto an = join_map(oget(m, "annotations"), 80); an != "<none>") out += fmt::format("Annotations: {}\n", an);

  auto* spec = oget(o, "spec");
  auto* st = oget(o, "status");
  if (is_pod) {
    std::string line = "Status:      " + (st ? sget(*st, {"phase"}) : std::string("Unknown"));
    if (st)
      if (auto r = sget(*st, {"reason"}); !r.empty()) line += " (" + r + ")";
    out += line + "\n";
    if (st)
      if (auto msg = sget(*st, {"message"}); !msg.empty())
        out += "Message:     " + describe::truncate_utf8(msg, 300) + "\n";
    std::string node = spec ? sget(*spec, {"nodeName"}) : "";
    out += fmt::format("Node:        {}\n", node.empty() ? "<none>" : node);
    if (st) {
      if (auto ip = sget(*st, {"podIP"}); !ip.empty()) out += fmt::format("IP:          {}\n", ip);
      if (auto q = sget(*st, {"qosClass"}); !q.empty()) out += fmt::format("QoS Class:   {}\n", q);
    }
  } else if (kind == "Secret") {
    out += fmt::format("Type:        {}\n", sget(o, {"type"}));
    out += fmt::format("Data:        {}\n", data_keys(o, false));
  } else if (kind == "ConfigMap") {
    out += fmt::format("Data:        {}\n", data_keys(o, true));
  } else if (!has_replicas) {
    // No dedicated section for this kind: compact spec and status (conditions are listed below).
    if (spec && !spec->empty())
      out += "Spec:        " + describe::truncate_utf8(json::serialize(*spec), kSpecTextCap) + "\n";
    if (st) {
      json::object rest = *st;
      rest.erase("conditions");
      if (!rest.empty()) out += "Status:      " + describe::truncate_utf8(json::serialize(rest), kSpecTextCap) + "\n";
    }
  }
  return out;
}

boost::asio::awaitable<ToolResult> describe_resource(Env& env, Call& c) {
  auto& a = c.args();
  auto t = co_await resolve_target(env, c, /*write=*/false);
  std::string name = str(a, "name");
  if (name.empty()) fail(Errc::invalid_argument, "name must not be empty");
  auto limit = std::clamp<std::int64_t>(opt_int(a, "eventsLimit").value_or(kDefaultEventsLimit), 1, kMaxEventsLimit);

  auto v = co_await t.client->get_json(t.path(name));
  if (!v.is_object()) fail(Errc::unavailable, "API server returned a non-object for a GET");
  auto& o = v.as_object();
  std::string kind = sget(o, {"kind"});
  if (kind.empty()) {
    kind = t.resource.kind;
    o["kind"] = kind;
  }
  std::string api_version = sget(o, {"apiVersion"});
  if (api_version.empty()) o["apiVersion"] = api_version = t.resource.group_version();

  describe::Subject subj{kind, sget(o, {"metadata", "name"}), t.ns, sget(o, {"metadata", "uid"})};
  auto chain = co_await owner_chain(t.client, t.ns, o);
  auto ev = co_await fetch_events(env, t.client, subj, limit);

  bool is_pod = kind == "Pod" && t.resource.group.empty();
  auto conds = describe::conditions(o);
  auto replicas = describe::replica_status(o);
  json::array containers;
  if (is_pod) containers = describe::container_states(o);

  // Shape and redact before rendering: the text must never show what the object output hides.
  if (str(a, "output", "slim") != "full") output::slim_object(o);
  if (!env.settings().show_secret_values) output::redact_secrets(v);

  auto now = describe::now_us();
  std::string text = render_object(o, kind, api_version, is_pod, !replicas.empty(), now);
  text += describe::render_owner_chain(chain);
  text += describe::render_replicas(replicas);
  text += describe::render_containers(containers, now);
  text += describe::render_conditions(conds);
  text += describe::render_events(ev.events, ev.total, ev.truncated);
  if (!ev.error.empty()) text += "Events could not be read: " + ev.error + "\n";
  if (ev.hidden) text += fmt::format("-- {} events hidden by the namespace policy\n", ev.hidden);
  if (!t.hint.empty()) text += "Note: " + t.hint + "\n";

  json::object out{{"resource", std::move(v)},
                   {"kind", kind},
                   {"apiVersion", api_version},
                   {"name", subj.name},
                   {"context", t.context},
                   {"ownerChain", std::move(chain)},
                   {"conditions", std::move(conds)},
                   {"events", std::move(ev.events)},
                   {"eventsTotal", ev.total},
                   {"eventsReturned", 0},
                   {"eventsTruncated", ev.truncated || ev.total > static_cast<std::size_t>(limit)}};
  out["eventsReturned"] = out["events"].as_array().size();
  if (!t.ns.empty()) out["namespace"] = t.ns;
  if (is_pod) out["containers"] = std::move(containers);
  if (!replicas.empty()) out["replicas"] = std::move(replicas);
  if (!ev.error.empty()) out["eventsError"] = ev.error;
  if (ev.hidden) out["eventsHiddenByNamespacePolicy"] = ev.hidden;
  if (!t.hint.empty()) out["hint"] = t.hint;
  co_return ToolResult{std::move(out), std::move(text)};
}

json::object describe_input_schema() {
  return schema::with_context(schema::object(
      {{"resourceType", schema::string("resource type: plural, singular, Kind or short name; CRDs included")},
       {"apiGroup", schema::string("API group or group/version to disambiguate (apps, apps/v1, core)")},
       {"namespace", schema::string("namespace (default: the context's namespace)")},
       {"name", schema::string("object name")},
       {"eventsLimit", schema::integer("how many of the newest events to return (default 20)", 1, kMaxEventsLimit)},
       {"output", schema::string_enum("slim (default) or full (the object with managedFields and annotations)",
                                      {"slim", "full"})}},
      {"resourceType", "name"}));
}
}  // namespace

void register_describe_tool(Registrar& reg) {
  reg.add({
      .name = "k8s_describe_resource",
      .title = "Describe a resource",
      .description = "What `kubectl describe` shows, in one call: the object (slim, secrets redacted), its "
                     "events newest first, its owner chain (e.g. Pod -> ReplicaSet -> Deployment), conditions, "
                     "replica status for workloads and, for pods, each container's state, restart count and "
                     "last termination reason.",
      .input_schema = describe_input_schema(),
      .output_schema = schema::output({{"resource", schema::any_object("the object")},
                                       {"kind", schema::string("")},
                                       {"name", schema::string("")},
                                       {"ownerChain", json::object{{"type", "array"}}},
                                       {"events", json::object{{"type", "array"}}},
                                       {"eventsTotal", schema::integer("")},
                                       {"conditions", json::object{{"type", "array"}}},
                                       {"containers", json::object{{"type", "array"}}},
                                       {"replicas", schema::any_object("replica counters (workloads)")}},
                                      {"resource", "kind", "name", "ownerChain", "events"}),
      .annotations = {.read_only = true, .destructive = false, .idempotent = true, .open_world = false},
      .verb = op::describe,
      .handler = describe_resource,
  });
}

}  // namespace mk::tools
