// expect: mesh: flow logic cannot be constructed
// culprit: NeedsOptions
// Rule: a logic with `options` is constructible from them (without: default-constructible).
#include <mesh/flow.hpp>

struct NeedsOptions {
  using input = int;
  struct options {
    int n = 0;
  };
  explicit NeedsOptions(int, int) {}
  void process(int const&) {}
};

int main() {
  mesh::flow::network net;
  (void)net.start_node<NeedsOptions>("n");
}
