// kubeconfig YAML: parse_kubeconfig on the input, then a RestConfig for every context (and
// the current one), as the server does at start-up. File references resolve against a
// directory that does not exist, so relative paths read nothing.
#include "k8s/kubeconfig.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  mk::k8s::Kubeconfig kc;
  try {
    kc = mk::k8s::parse_kubeconfig(text, "/nonexistent/mcpk-fuzz");
  } catch (const mk::Error&) {
    return 0;
  }
  mk::k8s::Kubeconfig merged;
  mk::k8s::merge_into(merged, kc);
  mk::k8s::merge_into(merged, kc);
  for (std::size_t i = 0; i <= merged.contexts.size(); ++i) {
    try {
      (void)mk::k8s::rest_config_for(merged, i < merged.contexts.size() ? merged.contexts[i].name : "");
    } catch (const mk::Error&) {
    }
  }
  return 0;
}
