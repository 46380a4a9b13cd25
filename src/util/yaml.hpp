#pragma once
// Manifests as users write them (YAML or JSON, several `---` documents, List kinds) turned into
// the JSON objects the API server takes. Bounded: input size, object count, node count (alias
// expansion included) and nesting depth are capped, so a hostile manifest cannot exhaust memory.
//
// Plain YAML scalars resolve with the YAML 1.2 core schema: null/~/empty, true/false (any of
// the three casings), decimal, 0x and 0o integers, floats. Two deliberate choices:
//   - "yes", "no", "on", "off", "y", "n", dates and "1_000" stay strings (YAML 1.1 would turn
//     them into booleans/timestamps: the "Norway problem");
//   - a leading-zero integer with only octal digits ("0644") is octal, as kubectl reads it
//     and as the Kubernetes docs promise for defaultMode; "0128" / "09" stay strings.
// Quoted and block scalars are always strings; explicit !!str/!!int/!!float/!!bool/!!null
// tags are honoured. Duplicate keys and non-scalar keys are errors; `<<` merge keys work.
#include <boost/json.hpp>

#include <cstddef>
#include <string_view>
#include <vector>

namespace mk::yaml {

struct ManifestLimits {
  std::size_t max_bytes = 4u << 20;         // input text
  std::size_t max_objects = 500;            // objects after List expansion
  std::size_t max_nodes = 500'000;          // JSON values produced, aliases expanded
  std::size_t max_value_bytes = 16u << 20;  // string bytes produced, aliases expanded
  std::size_t max_depth = 128;              // nesting of maps/sequences
  const char* subject = "manifest";         // what error messages call the input
};

// How plain scalars become JSON: typed by the core schema (manifests), or kept as the text
// written (configuration files whose fields are all strings, e.g. a kubeconfig's token "0123";
// null/~/empty still read as null).
enum class YamlScalars { typed, strings };

// Every non-empty document of a YAML stream (or the one JSON text) as JSON values.
// Throws mk::Error(invalid_argument | too_large) naming the line of the problem.
std::vector<boost::json::value> yaml_to_json(std::string_view text, const ManifestLimits& limits = {},
                                             YamlScalars scalars = YamlScalars::typed);

// The objects of a manifest: documents that are objects, items of `*List` kinds and of a
// top-level array, each checked to be a JSON object. Empty manifests are an error.
std::vector<boost::json::object> parse_manifest(std::string_view text, const ManifestLimits& limits = {});

// The core-schema value of one plain (unquoted, untagged) scalar. Exposed for tests.
boost::json::value resolve_plain_scalar(std::string_view s);

}  // namespace mk::yaml
