#include "output/table.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace mk::output {
namespace json = boost::json;

std::string cell_to_string(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.as_string());
    case json::kind::int64: return std::to_string(v.as_int64());
    case json::kind::uint64: return std::to_string(v.as_uint64());
    case json::kind::double_: return fmt::format("{}", v.as_double());
    case json::kind::bool_: return v.as_bool() ? "true" : "false";
    case json::kind::null: return "<none>";
    default: return json::serialize(v);
  }
}

Table parse_table(const json::value& v, bool wide, const std::vector<std::string_view>& promote) {
  Table t;
  if (!v.is_object()) return t;
  auto& o = v.as_object();
  std::vector<std::size_t> keep;
  if (auto* cd = o.if_contains("columnDefinitions"); cd && cd->is_array()) {
    std::size_t i = 0;
    for (auto& c : cd->as_array()) {
      if (!c.is_object()) {
        ++i;
        continue;
      }
      auto& co = c.as_object();
      std::int64_t prio = 0;
      if (auto* p = co.if_contains("priority"); p && p->is_number()) prio = p->to_number<std::int64_t>();
      auto* n = co.if_contains("name");
      bool promoted = n && n->is_string() &&
                      std::find(promote.begin(), promote.end(), std::string_view(n->as_string())) != promote.end();
      if (wide || prio == 0 || promoted) {
        keep.push_back(i);
        std::string name =
            n && n->is_string() ? std::string(n->as_string()) : std::string("COLUMN") + std::to_string(i);
        for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        t.columns.push_back(std::move(name));
      }
      ++i;
    }
  }
  if (auto* rows = o.if_contains("rows"); rows && rows->is_array()) {
    for (auto& r : rows->as_array()) {
      if (!r.is_object()) continue;
      auto& ro = r.as_object();
      std::vector<std::string> row;
      auto* cells = ro.if_contains("cells");
      for (auto idx : keep) {
        if (cells && cells->is_array() && idx < cells->as_array().size())
          row.push_back(cell_to_string(cells->as_array()[idx]));
        else row.emplace_back();
      }
      std::string ns;
      if (auto* obj = ro.if_contains("object"); obj && obj->is_object())
        if (auto* md = obj->as_object().if_contains("metadata"); md && md->is_object())
          if (auto* n = md->as_object().if_contains("namespace"); n && n->is_string()) ns = n->as_string();
      t.rows.push_back(std::move(row));
      t.row_namespaces.push_back(std::move(ns));
    }
  }
  if (auto* md = o.if_contains("metadata"); md && md->is_object()) {
    if (auto* c = md->as_object().if_contains("continue"); c && c->is_string()) t.continue_token = c->as_string();
    if (auto* r = md->as_object().if_contains("remainingItemCount"); r && r->is_number())
      t.remaining = r->to_number<std::int64_t>();
  }
  return t;
}

void add_namespace_column(Table& t) {
  t.columns.insert(t.columns.begin(), "NAMESPACE");
  for (std::size_t i = 0; i < t.rows.size(); ++i) t.rows[i].insert(t.rows[i].begin(), t.row_namespaces[i]);
}

std::string render_tsv(const Table& t) {
  std::string out;
  auto line = [&out](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out.push_back('\t');
      // A tab or newline inside a cell (printer columns can show any string) would shift the
      // columns or start a fake row.
      for (char ch : cells[i]) out.push_back(ch == '\t' || ch == '\n' || ch == '\r' ? ' ' : ch);
    }
    out.push_back('\n');
  };
  line(t.columns);
  for (auto& r : t.rows) line(r);
  return out;
}

}  // namespace mk::output
