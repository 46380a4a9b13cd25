#pragma once
// Federation settings from flags: group mappings (validated), Go-style durations.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mk::federation {

using GroupMappings = std::map<std::string, std::string>;

// --wc-group-mappings: a JSON object of group -> group. Throws Errc::invalid_argument when
// malformed, over 100 entries, or when a target is a privileged system group
// (system:masters, system:nodes, system:kube-*): a mapping must never grant what the IdP did not.
GroupMappings parse_group_mappings(const std::string& json_text);

// The user's groups with mappings applied (unmapped groups pass as they are), sorted, unique.
std::vector<std::string> map_groups(const GroupMappings& m, const std::vector<std::string>& groups);

// Go's time.ParseDuration: "10m", "30s", "1h30m", "500ms", "1.5h" (units ns us ms s m h; a bare
// "0" too). nullopt when malformed or negative.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

}  // namespace mk::federation
