#pragma once
// Small builders so every tool's JSON Schema (2020-12) reads the same way.
#include <boost/json.hpp>

#include <initializer_list>
#include <string>
#include <utility>

namespace mk::tools::schema {

namespace json = boost::json;

json::object string(std::string description);
json::object string_enum(std::string description, std::initializer_list<const char*> values);
json::object integer(std::string description, std::optional<std::int64_t> min = {},
                     std::optional<std::int64_t> max = {});
json::object boolean(std::string description);
json::object string_array(std::string description);
json::object any_object(std::string description);

// {"type":"object","properties":...,"required":[...],"additionalProperties":false}
json::object object(std::initializer_list<std::pair<const char*, json::object>> props,
                    std::initializer_list<const char*> required = {});
// Adds the optional `context` argument every Kubernetes tool takes.
json::object with_context(json::object schema);

// Output schemas are deliberately loose ("type: object" plus the top-level fields) so clients
// can rely on the shape without us freezing every Kubernetes field.
json::object output(std::initializer_list<std::pair<const char*, json::object>> props,
                    std::initializer_list<const char*> required = {});

}  // namespace mk::tools::schema
