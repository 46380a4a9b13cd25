#include "tools/cluster/health_checks.hpp"

#include <algorithm>

namespace mk::tools::health {
namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}
std::string sv(const json::object* o, std::string_view k) {
  if (!o) return {};
  auto* v = o->if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
}  // namespace

std::vector<Check> parse_verbose(std::string_view body) {
  std::vector<Check> out;
  std::size_t pos = 0;
  while (pos < body.size() && out.size() < 1000) {
    auto nl = body.find('\n', pos);
    auto line = trim(body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? body.size() : nl + 1;
    if (line.size() < 4 || line[0] != '[' || line[2] != ']' || (line[1] != '+' && line[1] != '-')) continue;
    Check c;
    c.ok = line[1] == '+';
    auto rest = line.substr(3);
    // "[+]name ok" or "[-]name failed: reason withheld"; check names contain no spaces.
    auto sp = rest.find(' ');
    c.name = std::string(rest.substr(0, sp));
    if (!c.ok && sp != std::string_view::npos) {
      auto msg = trim(rest.substr(sp + 1));
      if (msg.starts_with("failed")) msg = trim(msg.substr(6));
      if (msg.starts_with(":")) msg = trim(msg.substr(1));
      c.message = std::string(msg.substr(0, 300));
    }
    out.push_back(std::move(c));
  }
  return out;
}

void NodeTally::add(const json::object& node) {
  ++total_;
  const json::object* md = nullptr;
  if (auto* m = node.if_contains("metadata"); m && m->is_object()) md = &m->as_object();
  const json::object* spec = nullptr;
  if (auto* s = node.if_contains("spec"); s && s->is_object()) spec = &s->as_object();
  if (spec)
    if (auto* u = spec->if_contains("unschedulable"); u && u->is_bool() && u->as_bool()) ++unschedulable_;
  const json::object* ready = nullptr;
  if (auto* st = node.if_contains("status"); st && st->is_object())
    if (auto* cs = st->as_object().if_contains("conditions"); cs && cs->is_array())
      for (auto& c : cs->as_array())
        if (c.is_object() && sv(&c.as_object(), "type") == "Ready") ready = &c.as_object();
  if (ready && sv(ready, "status") == "True") {
    ++ready_;
    return;
  }
  if (not_ready_.size() >= max_listed_) return;
  json::object o{{"name", sv(md, "name")}};
  if (!ready) {
    o["status"] = "Unknown";
    o["reason"] = "NoReadyCondition";
  } else {
    o["status"] = sv(ready, "status");
    if (auto r = sv(ready, "reason"); !r.empty()) o["reason"] = r;
    if (auto m = sv(ready, "message"); !m.empty()) o["message"] = m.substr(0, 300);
    if (auto t = sv(ready, "lastTransitionTime"); !t.empty()) o["since"] = t;
  }
  not_ready_.push_back(std::move(o));
}

json::object NodeTally::to_json() const {
  json::object o{{"total", total_}, {"ready", ready_}, {"notReady", total_ - ready_}, {"notReadyNodes", not_ready_}};
  if (unschedulable_) o["unschedulable"] = unschedulable_;
  if (not_ready_.size() < total_ - ready_) o["notReadyNodesTruncated"] = true;
  return o;
}

LatencyStats latency_stats(std::vector<double> s) {
  LatencyStats r;
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  r.min_ms = s.front();
  r.max_ms = s.back();
  auto n = s.size();
  r.median_ms = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return r;
}

}  // namespace mk::tools::health
