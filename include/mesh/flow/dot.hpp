#pragma once
/// Graphviz DOT helpers shared by network::to_dot() and graph<...>::to_dot().

#include <string>
#include <string_view>

namespace mesh::flow::detail {

/// `s` as a quoted DOT id (quotes and backslashes escaped).
inline std::string dot_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

inline std::string dot_header() { return "digraph flow {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n"; }

}  // namespace mesh::flow::detail
