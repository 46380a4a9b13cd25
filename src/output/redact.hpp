#pragma once
// Secret values never leave the server unless --show-secret-values is set: Secret data and
// stringData, and the copy of them kubectl keeps in the last-applied-configuration annotation.
#include <boost/json.hpp>

namespace mk::output {

inline constexpr const char* kRedacted = "***REDACTED***";

// Redacts in place; handles a single object, a List (items[]) or anything nested under them.
void redact_secrets(boost::json::value& v);
bool is_secret(const boost::json::object& o);

}  // namespace mk::output
