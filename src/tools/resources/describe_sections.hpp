#pragma once
// The pure parts of k8s_describe_resource: picking and ordering an object's events, pod
// container states, conditions, replica status, and their kubectl-describe-like text lines.
// No I/O here, so every rule is unit-testable.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::tools::describe {

namespace json = boost::json;

// RFC 3339 (with optional fraction and offset) -> microseconds since the epoch.
std::optional<std::int64_t> parse_time_us(std::string_view s);
// kubectl-style short duration: 45s, 3m12s, 17m, 5h3m, 20h, 3d4h, 120d, 2y.
std::string human_duration(std::int64_t seconds);
// Age of an RFC 3339 timestamp at `now_us` ("" when unparseable).
std::string age(std::string_view ts, std::int64_t now_us);
std::int64_t now_us();

// Identity of the object whose events we want.
struct Subject {
  std::string kind;
  std::string name;
  std::string ns;
  std::string uid;
};

// Whether a core v1 Event is about `s`: name, kind and namespace must match; uid too when both
// carry one (events of an earlier object with the same name are not this object's).
bool event_is_about(const json::object& ev, const Subject& s);

struct EventRow {
  std::string type, reason, message, source, first_seen, last_seen;
  std::int64_t count = 1;
  std::int64_t last_us = 0;  // sort key
  std::string name;          // tie-break for equal times
};

// Reads a core v1 Event, including events written through events.k8s.io (eventTime, series,
// reportingController) which the core API shows with empty legacy fields.
EventRow event_row(const json::object& ev);
// Newest first; equal times keep a stable order by name.
void sort_newest_first(std::vector<EventRow>& rows);
json::object event_json(const EventRow& r, std::int64_t now_us);

// Per-container state of a pod (init, regular and ephemeral containers), in spec order.
json::array container_states(const json::object& pod);
json::array conditions(const json::object& obj);
// Replica counters for workloads (Deployment, ReplicaSet, StatefulSet, DaemonSet, ...);
// empty when the object has none.
json::object replica_status(const json::object& obj);

// Text lines, each ending in '\n'.
std::string render_events(const json::array& events, std::size_t total, bool truncated);
std::string render_containers(const json::array& containers, std::int64_t now_us);
std::string render_conditions(const json::array& conds);
std::string render_replicas(const json::object& replicas);
std::string render_owner_chain(const json::array& chain);

// UTF-8 safe truncation to at most `max` bytes, with "..." appended when cut.
std::string truncate_utf8(std::string_view s, std::size_t max);

}  // namespace mk::tools::describe
