// expect: mesh: the graph has a cycle through this node
// culprit: flow_graph_has_a_cycle<mesh::fixed_string<2>{"c"}>
// Rule: a mesh::flow::graph is acyclic.
#include <mesh/flow.hpp>

struct Pass {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) { out.broadcast(v); }
};

using g = mesh::flow::graph<mesh::flow::node<"a", Pass>, mesh::flow::node<"b", Pass>, mesh::flow::node<"c", Pass>,
                            mesh::flow::edge<"a", "b">, mesh::flow::edge<"b", "c">, mesh::flow::edge<"c", "b">>;

int main() { (void)g::to_dot(); }
