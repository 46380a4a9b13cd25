#pragma once
// Typed access to already schema-validated tool arguments.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mk::tools {

namespace json = boost::json;

std::string str(const json::object& a, std::string_view key, std::string def = {});
std::optional<std::string> opt_str(const json::object& a, std::string_view key);
bool flag(const json::object& a, std::string_view key, bool def = false);
std::optional<std::int64_t> opt_int(const json::object& a, std::string_view key);
std::vector<std::string> str_list(const json::object& a, std::string_view key);

}  // namespace mk::tools
