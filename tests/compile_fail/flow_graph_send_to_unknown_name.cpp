// expect: mesh: the graph has no node with this name
// culprit: {"sorce"}
// Rule: sending by node name needs a declared name.
#include <mesh/flow.hpp>

struct Pass {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) { out.broadcast(v); }
};

using g = mesh::flow::graph<mesh::flow::node<"source", Pass>>;

int main() {
  mesh::flow::network net;
  auto p = g::start(net);
  (void)p->send<"sorce">(1);
}
