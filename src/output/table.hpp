#pragma once
// The API server's own Table rendering (what kubectl prints, CRD printer columns included),
// reduced to compact columns/rows and a tab-separated text form.
#include <boost/json.hpp>

#include <string>
#include <vector>

namespace mk::output {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row_namespaces;  // parallel to rows ("" when unknown/cluster-scoped)
  std::string continue_token;
  std::optional<std::int64_t> remaining;
};

// Parses a meta.k8s.io/v1 Table. wide=false keeps only priority-0 columns (kubectl's default)
// plus the columns named in `promote` (e.g. a pod's Node, which an agent nearly always wants).
Table parse_table(const boost::json::value& v, bool wide, const std::vector<std::string_view>& promote = {});
// Prepends a NAMESPACE column from row_namespaces.
void add_namespace_column(Table& t);
std::string render_tsv(const Table& t);
std::string cell_to_string(const boost::json::value& v);

}  // namespace mk::output
