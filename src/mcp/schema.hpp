#pragma once
// Validates tool arguments against the subset of JSON Schema 2020-12 our tools declare:
// type (incl. unions), properties, required, additionalProperties, enum, items,
// minimum/maximum, minLength/maxLength, minItems/maxItems, oneOf of types.
// Returns an empty string when valid, otherwise a message naming the offending argument.
#include <boost/json.hpp>

#include <string>

namespace mcp {

std::string validate(const boost::json::value& instance, const boost::json::object& schema,
                     const std::string& path = "");

}  // namespace mcp
