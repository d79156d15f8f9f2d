// expect: mesh: flow logic has no `input` type
// culprit: Inputless
// Rule: a flow logic declares `using input = T;`.
#include <mesh/flow.hpp>

struct Inputless {
  using output = int;
  void process(int const&, mesh::flow::emitter<int>&) {}
};

int main() {
  mesh::flow::network net;
  (void)net.start_node<Inputless>("i");
}
