// expect: mesh: start_node options are not convertible to the logic's `options` type
// culprit: Threshold, Other
// Rule: start_node<Logic>(id, options) takes a Logic::options value.
#include <mesh/flow.hpp>

struct Threshold {
  using input = int;
  using output = int;
  struct options {
    int threshold = 0;
  };
  explicit Threshold(options) {}
  void process(int const&, mesh::flow::emitter<int>&) {}
};
struct Other {};

int main() {
  mesh::flow::network net;
  (void)net.start_node<Threshold>("t", Other{});
}
