// Manifest YAML: parse_manifest (typed scalars, List expansion) and yaml_to_json with string
// scalars (the kubeconfig reading), each under tight limits and the defaults. Only mk::Error
// may come out, and what comes back must respect the limits: values and string bytes (keys
// included) beyond what the input itself spells out must have been counted against them.
#include "util/yaml.hpp"
#include "util/error.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace json = boost::json;

namespace {
struct Size {
  std::size_t nodes = 0, bytes = 0;
};
void measure(const json::value& v, Size& s) {
  ++s.nodes;
  if (v.is_string()) s.bytes += v.as_string().size();
  if (auto* a = v.if_array())
    for (auto& x : *a) measure(x, s);
  if (auto* o = v.if_object())
    for (auto& [k, x] : *o) {
      s.bytes += k.size();
      measure(x, s);
    }
}
void check(const Size& s, const mk::yaml::ManifestLimits& l, std::size_t input) {
  if (s.nodes > l.max_nodes + input || s.bytes > l.max_value_bytes + input) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mk::yaml::ManifestLimits tight;
  tight.max_objects = 3;
  tight.max_nodes = 200;
  tight.max_value_bytes = 512;
  tight.max_depth = 8;
  for (const auto& l : {tight, mk::yaml::ManifestLimits{}}) {
    try {
      Size s;
      for (auto& o : mk::yaml::parse_manifest(text, l)) measure(o, s);
      check(s, l, size);
    } catch (const mk::Error&) {
    }
    try {
      Size s;
      for (auto& v : mk::yaml::yaml_to_json(text, l, mk::yaml::YamlScalars::strings)) measure(v, s);
      check(s, l, size);
    } catch (const mk::Error&) {
    }
  }
  return 0;
}
