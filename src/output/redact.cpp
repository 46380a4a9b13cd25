#include "output/redact.hpp"

namespace mk::output {
namespace json = boost::json;

namespace {
void mask_map(json::value* m) {
  if (!m || !m->is_object()) return;
  for (auto& [k, v] : m->as_object()) v = kRedacted;
}

// Values, and the copy of them kubectl keeps in the last-applied annotation.
void redact_secret_fields(json::object& o) {
  mask_map(o.if_contains("data"));
  mask_map(o.if_contains("stringData"));
  if (auto* md = o.if_contains("metadata"); md && md->is_object())
    if (auto* an = md->as_object().if_contains("annotations"); an && an->is_object())
      if (auto* la = an->as_object().if_contains("kubectl.kubernetes.io/last-applied-configuration")) *la = kRedacted;
}
}  // namespace

bool is_secret(const json::object& o) {
  auto* k = o.if_contains("kind");
  if (!k || !k->is_string() || k->as_string() != "Secret") return false;
  auto* av = o.if_contains("apiVersion");
  return !av || (av->is_string() && av->as_string() == "v1");
}

void redact_secrets(json::value& v) {
  if (v.is_array()) {
    for (auto& x : v.as_array()) redact_secrets(x);
    return;
  }
  if (!v.is_object()) return;
  auto& o = v.as_object();
  if (auto* items = o.if_contains("items"); items && items->is_array()) {
    // A SecretList's items carry no kind: treat them as Secrets too.
    bool secret_list = false;
    if (auto* k = o.if_contains("kind"); k && k->is_string()) secret_list = k->as_string() == "SecretList";
    for (auto& it : items->as_array()) {
      if (secret_list && it.is_object() && !it.as_object().contains("kind")) redact_secret_fields(it.as_object());
      redact_secrets(it);
    }
  }
  if (is_secret(o)) redact_secret_fields(o);
}

}  // namespace mk::output
