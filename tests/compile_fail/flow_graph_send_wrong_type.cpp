// expect: mesh: the value sent to this graph node is not convertible to its logic's `input`
// culprit: {"source"}, char [6], int
// Rule: sending by node name checks the value's type at compile time.
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
  (void)p->send<"source">("hello");
}
