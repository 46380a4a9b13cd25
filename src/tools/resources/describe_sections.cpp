#include "tools/resources/describe_sections.hpp"

#include "util/text.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace mk::tools::describe {
namespace {

const json::object* obj(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->as_object() : nullptr;
}
const json::array* arr(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_array() ? &v->as_array() : nullptr;
}
std::string s(const json::object* o, std::string_view k) {
  if (!o) return {};
  auto* v = o->if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
std::optional<std::int64_t> i(const json::object* o, std::string_view k) {
  if (!o) return std::nullopt;
  auto* v = o->if_contains(k);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return std::nullopt;
}

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm): no timegm/locale involved.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// One container's state object ({status, reason, exitCode, ...}) from a ContainerState.
json::object state_json(const json::object* st) {
  if (!st) return {{"status", "unknown"}};
  if (auto* r = obj(*st, "running")) {
    json::object o{{"status", "running"}};
    if (auto t = s(r, "startedAt"); !t.empty()) o["startedAt"] = t;
    return o;
  }
  if (auto* w = obj(*st, "waiting")) {
    json::object o{{"status", "waiting"}};
    if (auto v = s(w, "reason"); !v.empty()) o["reason"] = v;
    if (auto v = s(w, "message"); !v.empty()) o["message"] = truncate_utf8(v, 512);
    return o;
  }
  if (auto* t = obj(*st, "terminated")) {
    json::object o{{"status", "terminated"}};
    if (auto v = s(t, "reason"); !v.empty()) o["reason"] = v;
    if (auto v = i(t, "exitCode")) o["exitCode"] = *v;
    if (auto v = i(t, "signal"); v && *v) o["signal"] = *v;
    if (auto v = s(t, "message"); !v.empty()) o["message"] = truncate_utf8(v, 512);
    if (auto v = s(t, "startedAt"); !v.empty()) o["startedAt"] = v;
    if (auto v = s(t, "finishedAt"); !v.empty()) o["finishedAt"] = v;
    return o;
  }
  return {{"status", "unknown"}};
}

std::string state_text(const json::object& st, std::int64_t now) {
  std::string status = s(&st, "status");
  std::string out;
  if (status == "running") {
    out = "Running";
    if (auto a = age(s(&st, "startedAt"), now); !a.empty()) out += " for " + a;
  } else if (status == "waiting") {
    out = "Waiting";
    if (auto r = s(&st, "reason"); !r.empty()) out += " (" + r + ")";
    if (auto m = s(&st, "message"); !m.empty()) out += ": " + truncate_utf8(m, 160);
  } else if (status == "terminated") {
    out = "Terminated";
    std::string detail = s(&st, "reason");
    if (auto c = i(&st, "exitCode")) detail += (detail.empty() ? "" : ", ") + fmt::format("exit code {}", *c);
    if (auto sig = i(&st, "signal")) detail += fmt::format(", signal {}", *sig);
    if (!detail.empty()) out += " (" + detail + ")";
    if (auto a = age(s(&st, "finishedAt"), now); !a.empty()) out += " " + a + " ago";
  } else {
    out = "Unknown";
  }
  return out;
}

void add_containers(const json::object& pod, std::string_view spec_key, std::string_view status_key, const char* type,
                    json::array& out) {
  auto* spec = obj(pod, "spec");
  auto* status = obj(pod, "status");
  const json::array* specs = spec ? arr(*spec, spec_key) : nullptr;
  const json::array* statuses = status ? arr(*status, status_key) : nullptr;
  auto status_of = [&](const std::string& name) -> const json::object* {
    if (!statuses) return nullptr;
    for (auto& x : *statuses)
      if (x.is_object() && s(&x.as_object(), "name") == name) return &x.as_object();
    return nullptr;
  };
  if (!specs) return;
  for (auto& c : *specs) {
    if (!c.is_object()) continue;
    std::string name = s(&c.as_object(), "name");
    json::object o{{"name", name}, {"type", type}, {"image", s(&c.as_object(), "image")}};
    auto* cs = status_of(name);
    if (!cs) {
      o["ready"] = false;
      o["restartCount"] = 0;
      o["state"] = json::object{{"status", "unknown"}};  // no status yet (pending pod)
      out.push_back(std::move(o));
      continue;
    }
    auto* ready = cs->if_contains("ready");
    o["ready"] = ready && ready->is_bool() && ready->as_bool();
    if (auto* st = cs->if_contains("started"); st && st->is_bool()) o["started"] = st->as_bool();
    o["restartCount"] = i(cs, "restartCount").value_or(0);
    o["state"] = state_json(obj(*cs, "state"));
    // lastState holds why the previous instance ended: the restart reason.
    if (auto* ls = obj(*cs, "lastState"); ls && !ls->empty()) o["lastState"] = state_json(ls);
    out.push_back(std::move(o));
  }
}

}  // namespace

std::optional<std::int64_t> parse_time_us(std::string_view t) {
  int y, mo, d, h, mi, se, n = 0;
  std::string buf(t.substr(0, 64));
  if (std::sscanf(buf.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t p = 19;
  std::int64_t frac_us = 0;
  if (p < t.size() && t[p] == '.') {
    ++p;
    std::int64_t scale = 100000;
    while (p < t.size() && std::isdigit(static_cast<unsigned char>(t[p]))) {
      frac_us += (t[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
  }
  std::int64_t offset_s = 0;
  if (p < t.size() && (t[p] == 'Z' || t[p] == 'z')) {
    ++p;
  } else if (p + 6 == t.size() && (t[p] == '+' || t[p] == '-') && t[p + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(buf.c_str() + p + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (t[p] == '+' ? 1 : -1);
    p += 6;
  } else {
    return std::nullopt;
  }
  if (p != t.size()) return std::nullopt;
  std::int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
                      mi * 60 + se - offset_s;
  return secs * 1000000 + frac_us;
}

std::string human_duration(std::int64_t sec) {
  if (sec < 0) sec = 0;
  const std::int64_t m = sec / 60, h = sec / 3600, d = sec / 86400;
  if (sec < 120) return fmt::format("{}s", sec);
  if (m < 10) return sec % 60 ? fmt::format("{}m{}s", m, sec % 60) : fmt::format("{}m", m);
  if (h < 3) return fmt::format("{}m", m);
  if (h < 8) return m % 60 ? fmt::format("{}h{}m", h, m % 60) : fmt::format("{}h", h);
  if (h < 48) return fmt::format("{}h", h);
  if (d < 8) return h % 24 ? fmt::format("{}d{}h", d, h % 24) : fmt::format("{}d", d);
  if (d < 365 * 2) return fmt::format("{}d", d);
  return fmt::format("{}y", d / 365);
}

std::string age(std::string_view ts, std::int64_t now) {
  auto t = parse_time_us(ts);
  if (!t) return {};
  return human_duration((now - *t) / 1000000);
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool event_is_about(const json::object& ev, const Subject& subj) {
  auto* io = obj(ev, "involvedObject");
  if (!io) return false;
  if (s(io, "name") != subj.name) return false;
  if (s(io, "kind") != subj.kind) return false;
  if (s(io, "namespace") != subj.ns) return false;
  auto uid = s(io, "uid");
  // The kubelet reports node events with the node's name as uid.
  return uid.empty() || subj.uid.empty() || uid == subj.uid || (subj.kind == "Node" && uid == subj.name);
}

EventRow event_row(const json::object& ev) {
  EventRow r;
  auto* md = obj(ev, "metadata");
  auto* series = obj(ev, "series");
  r.name = s(md, "name");
  r.type = s(&ev, "type");
  r.reason = s(&ev, "reason");
  r.message = s(&ev, "message");
  if (auto* src = obj(ev, "source")) r.source = s(src, "component");
  if (r.source.empty()) r.source = s(&ev, "reportingComponent");
  r.count = i(&ev, "count").value_or(0);
  if (auto sc = i(series, "count"); sc && *sc > r.count) r.count = *sc;
  if (r.count < 1) r.count = 1;
  // The most recent observation wins: series (events.k8s.io), then the legacy fields.
  for (auto t : {s(series, "lastObservedTime"), s(&ev, "lastTimestamp"), s(&ev, "eventTime"), s(&ev, "firstTimestamp"),
                 s(md, "creationTimestamp")}) {
    if (auto us = parse_time_us(t)) {
      if (r.last_seen.empty() || *us > r.last_us) {
        r.last_seen = t;
        r.last_us = *us;
      }
    }
  }
  for (auto t : {s(&ev, "firstTimestamp"), s(&ev, "eventTime"), s(md, "creationTimestamp")})
    if (!t.empty() && parse_time_us(t)) {
      r.first_seen = t;
      break;
    }
  return r;
}

void sort_newest_first(std::vector<EventRow>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const EventRow& a, const EventRow& b) {
    if (a.last_us != b.last_us) return a.last_us > b.last_us;
    return a.name < b.name;
  });
}

json::object event_json(const EventRow& r, std::int64_t now) {
  json::object o{{"type", r.type},
                 {"reason", r.reason},
                 {"message", truncate_utf8(r.message, 1024)},
                 {"count", r.count},
                 {"lastSeen", r.last_seen}};
  if (!r.last_seen.empty()) o["age"] = human_duration((now - r.last_us) / 1000000);
  if (!r.first_seen.empty() && r.first_seen != r.last_seen) o["firstSeen"] = r.first_seen;
  if (!r.source.empty()) o["source"] = r.source;
  return o;
}

json::array container_states(const json::object& pod) {
  json::array out;
  add_containers(pod, "initContainers", "initContainerStatuses", "init", out);
  add_containers(pod, "containers", "containerStatuses", "container", out);
  add_containers(pod, "ephemeralContainers", "ephemeralContainerStatuses", "ephemeral", out);
  return out;
}

json::array conditions(const json::object& o) {
  json::array out;
  auto* st = obj(o, "status");
  auto* cs = st ? arr(*st, "conditions") : nullptr;
  if (!cs) return out;
  for (auto& c : *cs) {
    if (!c.is_object()) continue;
    auto* co = &c.as_object();
    json::object r{{"type", s(co, "type")}, {"status", s(co, "status")}};
    if (auto v = s(co, "reason"); !v.empty()) r["reason"] = v;
    if (auto v = s(co, "message"); !v.empty()) r["message"] = truncate_utf8(v, 512);
    if (auto v = s(co, "lastTransitionTime"); !v.empty()) r["lastTransitionTime"] = v;
    else if (auto v2 = s(co, "lastUpdateTime"); !v2.empty()) r["lastTransitionTime"] = v2;
    out.push_back(std::move(r));
  }
  return out;
}

json::object replica_status(const json::object& o) {
  json::object out;
  auto* spec = obj(o, "spec");
  auto* st = obj(o, "status");
  auto desired = i(spec, "replicas");
  bool replica_style = desired.has_value() || (st && st->contains("replicas"));
  static const char* kReplicaKeys[] = {
      "replicas",        "updatedReplicas",      "readyReplicas",      "availableReplicas", "unavailableReplicas",
      "currentReplicas", "fullyLabeledReplicas", "terminatingReplicas"};
  static const char* kDaemonKeys[] = {
      "desiredNumberScheduled", "currentNumberScheduled", "updatedNumberScheduled", "numberReady",
      "numberAvailable",        "numberUnavailable",      "numberMisscheduled"};
  if (replica_style) {
    if (desired) out["desired"] = *desired;
    for (auto* k : kReplicaKeys)
      if (auto v = i(st, k)) out[k] = *v;
    // The API omits zero counters; a reader should see "0 ready", not nothing.
    for (auto* k : {"replicas", "readyReplicas", "availableReplicas"})
      if (!out.contains(k)) out[k] = 0;
  } else if (st && st->contains("desiredNumberScheduled")) {
    for (auto* k : kDaemonKeys)
      if (auto v = i(st, k)) out[k] = *v;
  } else {
    return out;
  }
  auto* md = obj(o, "metadata");
  auto gen = i(md, "generation");
  auto seen = i(st, "observedGeneration");
  if (gen && seen) {
    out["generation"] = *gen;
    out["observedGeneration"] = *seen;
  }
  return out;
}

std::string render_events(const json::array& events, std::size_t total, bool truncated) {
  if (events.empty()) return total ? fmt::format("Events: {} (none shown)\n", total) : "Events: <none>\n";
  std::string out = events.size() < total || truncated ? fmt::format("Events ({} of {}{}, newest first):\n",
                                                                     events.size(), total, truncated ? "+" : "")
                                                       : fmt::format("Events ({}, newest first):\n", events.size());
  for (auto& e : events) {
    auto* eo = &e.as_object();
    std::string a = s(eo, "age");
    auto count = i(eo, "count").value_or(1);
    out += fmt::format("  {:<6} {:<7} {}{}: {}\n", a.empty() ? "?" : a + " ago", s(eo, "type"), s(eo, "reason"),
                       count > 1 ? fmt::format(" (x{})", count) : "", truncate_utf8(s(eo, "message"), 300));
  }
  return out;
}

std::string render_containers(const json::array& containers, std::int64_t now) {
  if (containers.empty()) return {};
  std::string out = "Containers:\n";
  for (auto& c : containers) {
    auto* co = &c.as_object();
    std::string type = s(co, "type");
    auto* ready = co->if_contains("ready");
    bool is_ready = ready && ready->is_bool() && ready->as_bool();
    std::string line = fmt::format("  {}{} [{}]: {}, {}, restarts {}", type == "container" ? "" : type + "/",
                                   s(co, "name"), s(co, "image"), state_text(co->at("state").as_object(), now),
                                   is_ready ? "ready" : "not ready", i(co, "restartCount").value_or(0));
    if (auto* ls = obj(*co, "lastState")) line += "; last: " + state_text(*ls, now);
    out += line + "\n";
  }
  return out;
}

std::string render_conditions(const json::array& conds) {
  if (conds.empty()) return {};
  std::string out = "Conditions:\n";
  for (auto& c : conds) {
    auto* co = &c.as_object();
    std::string line = fmt::format("  {}={}", s(co, "type"), s(co, "status"));
    auto reason = s(co, "reason"), msg = s(co, "message");
    if (!reason.empty() || !msg.empty())
      line += " (" + reason + (reason.empty() || msg.empty() ? "" : ": ") + truncate_utf8(msg, 200) + ")";
    out += line + "\n";
  }
  return out;
}

std::string render_replicas(const json::object& r) {
  if (r.empty()) return {};
  std::string parts;
  auto add = [&](const char* key, const char* label) {
    if (auto v = i(&r, key)) parts += fmt::format("{}{} {}", parts.empty() ? "" : " | ", *v, label);
  };
  if (r.contains("desiredNumberScheduled")) {
    add("desiredNumberScheduled", "desired");
    add("currentNumberScheduled", "current");
    add("updatedNumberScheduled", "updated");
    add("numberReady", "ready");
    add("numberAvailable", "available");
    add("numberUnavailable", "unavailable");
    add("numberMisscheduled", "misscheduled");
  } else {
    add("desired", "desired");
    add("replicas", "current");
    add("updatedReplicas", "updated");
    add("readyReplicas", "ready");
    add("availableReplicas", "available");
    add("unavailableReplicas", "unavailable");
  }
  std::string out = "Replicas: " + parts + "\n";
  auto gen = i(&r, "generation"), seen = i(&r, "observedGeneration");
  if (gen && seen && *seen < *gen)
    out += fmt::format("Rollout: controller has not observed generation {} yet (at {})\n", *gen, *seen);
  return out;
}

std::string render_owner_chain(const json::array& chain) {
  if (chain.empty()) return {};
  std::string out = "Controlled By: ";
  bool first = true;
  for (auto& o : chain) {
    auto* oo = &o.as_object();
    out += (first ? "" : " -> ") + s(oo, "kind") + "/" + s(oo, "name");
    if (auto e = s(oo, "error"); !e.empty()) out += " (" + truncate_utf8(e, 160) + ")";
    else if (auto sm = s(oo, "summary"); !sm.empty()) out += " [" + sm + "]";
    first = false;
  }
  return out + "\n";
}

std::string truncate_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(utf8_prefix(s, max)) + "...";
}

}  // namespace mk::tools::describe
