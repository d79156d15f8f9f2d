// expect: mesh: flow logic has no process()
// culprit: Quiet
// Rule: a flow logic has process(input const&, mesh::flow::emitter<output>&).
#include <mesh/flow.hpp>

struct Quiet {
  using input = int;
  using output = int;
};

int main() {
  mesh::flow::network net;
  (void)net.start_node<Quiet>("q");
}
