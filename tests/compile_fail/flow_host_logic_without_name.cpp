// expect: mesh: a logic of mesh::flow::host needs `static constexpr mesh::fixed_string name
// culprit: Anonymous
// Rule: a logic that crosses processes has a stable name.
#include <mesh/mesh.hpp>

struct Anonymous {
  using input = int;
  void process(int const&) {}
};

[[maybe_unused]] constexpr bool checked = mesh::flow::host<Anonymous>::valid;

int main() {}
