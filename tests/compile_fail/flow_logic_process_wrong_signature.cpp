// expect: mesh: flow logic's process() cannot be called as process(input const&, mesh::flow::emitter<output>&)
// culprit: Mistyped
// Rule: process() takes the logic's input and an emitter of its output.
#include <mesh/flow.hpp>

#include <string>

struct Mistyped {
  using input = int;
  using output = int;
  void process(std::string const&, mesh::flow::emitter<int>&) {}  // input is int, not std::string
};

int main() {
  mesh::flow::network net;
  (void)net.start_node<Mistyped>("m");
}
