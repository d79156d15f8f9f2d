// expect: mesh: a graph edge links an output to an input it is not convertible to
// culprit: {"namer"}, mesh::fixed_string<4>{"sum"}, std::__cxx11::basic_string<char>, int
// Rule: along every edge the source's output converts to the target's input.
#include <mesh/flow.hpp>

#include <string>

struct Namer {
  using input = int;
  using output = std::string;
  void process(int const&, mesh::flow::emitter<std::string>&) {}
};
struct Sum {
  using input = int;
  void process(int const&) {}
};

using g = mesh::flow::graph<mesh::flow::node<"namer", Namer>, mesh::flow::node<"sum", Sum>,
                            mesh::flow::edge<"namer", "sum">>;

int main() {
  mesh::flow::network net;
  (void)g::start(net);
}
