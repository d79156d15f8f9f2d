#!/usr/bin/env bash
# Generates a translation unit with N actors of M messages each, all in one mesh::schema, that
# builds a node and calls every message once (so dispatch, serializers and the fingerprint are
# all instantiated). Usage: gen.sh N M > out.cpp
set -euo pipefail
n=${1:-3}
m=${2:-3}
echo '#include <mesh/mesh.hpp>'
echo 'struct cap : mesh::capability<"cap"> {};'
for ((a = 0; a < n; ++a)); do
  for ((k = 0; k < m; ++k)); do
    echo "struct m${a}_${k} { BOOST_HANA_DEFINE_STRUCT(m${a}_${k}, (int, x), (std::string, s), (std::vector<double>, v)); };"
  done
  msgs=$(for ((k = 0; k < m; ++k)); do printf 'm%d_%d%s' "$a" "$k" "$([ $k -lt $((m - 1)) ] && echo ', ')"; done)
  echo "struct actor${a} {"
  echo "  static constexpr mesh::fixed_string name = \"actor${a}\";"
  echo "  using capability = cap;"
  echo "  using messages = mesh::list<${msgs}>;"
  echo "  explicit actor${a}(std::string_view) {}"
  for ((k = 0; k < m; ++k)); do echo "  int handle(m${a}_${k} const& q) { return q.x + ${k}; }"; done
  echo "};"
done
actors=$(for ((a = 0; a < n; ++a)); do printf 'actor%d%s' "$a" "$([ $a -lt $((n - 1)) ] && echo ', ')"; done)
echo "using app = mesh::schema<${actors}>;"
# Each actor's call sites live in their own function, as in a real program (one client function
# per actor type); one 500-call main() would mostly measure the optimizer on a single huge function.
for ((a = 0; a < n; ++a)); do
  echo "long use_actor${a}(mesh::node<app>& node) {"
  echo '  long sum = 0;'
  for ((k = 0; k < m; ++k)); do echo "  sum += node.call<actor${a}>(\"id\", m${a}_${k}{1, \"s\", {}})->value;"; done
  echo '  return sum;'
  echo '}'
done
echo 'int main() {'
echo '  mesh::node<app> node{mesh::node_config{.name = "n"}};'
echo '  node.register_capabilities<cap>();'
echo '  long sum = 0;'
for ((a = 0; a < n; ++a)); do echo "  sum += use_actor${a}(node);"; done
echo '  return sum > 0 ? 0 : 1;'
echo '}'
