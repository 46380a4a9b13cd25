#include "tools/common/schema.hpp"

namespace mk::tools::schema {

json::object string(std::string d) { return {{"type", "string"}, {"description", d}}; }

json::object string_enum(std::string d, std::initializer_list<const char*> values) {
  json::array e;
  for (auto* v : values) e.push_back(json::string(v));
  return {{"type", "string"}, {"description", d}, {"enum", std::move(e)}};
}

json::object integer(std::string d, std::optional<std::int64_t> min, std::optional<std::int64_t> max) {
  json::object o{{"type", "integer"}, {"description", d}};
  if (min) o["minimum"] = *min;
  if (max) o["maximum"] = *max;
  return o;
}

json::object boolean(std::string d) { return {{"type", "boolean"}, {"description", d}}; }

json::object string_array(std::string d) {
  return {{"type", "array"}, {"description", d}, {"items", json::object{{"type", "string"}}}};
}

json::object any_object(std::string d) { return {{"type", "object"}, {"description", d}}; }

json::object object(std::initializer_list<std::pair<const char*, json::object>> props,
                    std::initializer_list<const char*> required) {
  json::object p;
  for (auto& [k, v] : props) p[k] = v;
  json::array r;
  for (auto* k : required) r.push_back(json::string(k));
  json::object o{{"type", "object"}, {"properties", std::move(p)}, {"additionalProperties", false}};
  if (!r.empty()) o["required"] = std::move(r);
  return o;
}

json::object with_context(json::object s) {
  s["properties"].as_object()["context"] =
      string("kubeconfig context to use for this call (default: the session's current context)");
  return s;
}

json::object output(std::initializer_list<std::pair<const char*, json::object>> props,
                    std::initializer_list<const char*> required) {
  json::object p;
  for (auto& [k, v] : props) p[k] = v;
  json::array r;
  for (auto* k : required) r.push_back(json::string(k));
  json::object o{{"type", "object"}, {"properties", std::move(p)}};
  if (!r.empty()) o["required"] = std::move(r);
  return o;
}

}  // namespace mk::tools::schema
