// expect: mesh: two logics of mesh::flow::host share this logic's name
// culprit: flow_host_logic_names_not_unique<Second>
// Rule: the logics of a mesh::flow::host have unique names (their identity across processes).
#include <mesh/mesh.hpp>

struct First {
  static constexpr mesh::fixed_string name = "same";
  using input = int;
  void process(int const&) {}
};
struct Second {
  static constexpr mesh::fixed_string name = "same";
  using input = int;
  void process(int const&) {}
};

[[maybe_unused]] constexpr bool checked = mesh::flow::host<First, Second>::valid;

int main() {}
