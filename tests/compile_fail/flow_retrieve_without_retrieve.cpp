// expect: mesh: retrieve_data needs the logic to have `R retrieve() const`
// culprit: Blind
// Rule: retrieve_data<Logic> needs Logic::retrieve() const.
#include <mesh/flow.hpp>

struct Blind {
  using input = int;
  void process(int const&) {}
};

int main() {
  mesh::flow::network net;
  (void)net.retrieve_data<Blind>("b");
}
