#pragma once
// Drops what costs tokens and tells a reader nothing: managedFields, the last-applied
// annotation, selfLink. `full` output keeps everything (still redacted).
#include <boost/json.hpp>

namespace mk::output {

void slim_object(boost::json::object& o);

}  // namespace mk::output
