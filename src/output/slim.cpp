#include "output/slim.hpp"

namespace mk::output {

void slim_object(boost::json::object& o) {
  auto* md = o.if_contains("metadata");
  if (!md || !md->is_object()) return;
  auto& m = md->as_object();
  m.erase("managedFields");
  m.erase("selfLink");
  if (auto* an = m.if_contains("annotations"); an && an->is_object()) {
    an->as_object().erase("kubectl.kubernetes.io/last-applied-configuration");
    if (an->as_object().empty()) m.erase("annotations");
  }
}

}  // namespace mk::output
