// expect: mesh: a graph edge names a node the graph does not declare
// culprit: {"ghost"}
// Rule: every edge of a mesh::flow::graph names declared nodes.
#include <mesh/flow.hpp>

struct Pass {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) { out.broadcast(v); }
};

using g = mesh::flow::graph<mesh::flow::node<"a", Pass>, mesh::flow::node<"b", Pass>, mesh::flow::edge<"a", "b">,
                            mesh::flow::edge<"b", "ghost">>;

int main() { (void)g::topological_order(); }
