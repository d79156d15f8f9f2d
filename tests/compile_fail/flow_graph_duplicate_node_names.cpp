// expect: mesh: two nodes of the graph share this name
// culprit: {"twice"}
// Rule: node names of a mesh::flow::graph are unique.
#include <mesh/flow.hpp>

struct Pass {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) { out.broadcast(v); }
};

using g = mesh::flow::graph<mesh::flow::node<"twice", Pass>, mesh::flow::node<"other", Pass>,
                            mesh::flow::node<"twice", Pass>>;

int main() { (void)g::to_dot(); }
