// expect: mesh: a logic of mesh::flow::host has an input, output, options, key or retrieve type that is not serializable
// culprit: Opaque, Blob
// Rule: every type of a logic that crosses processes is serializable.
#include <mesh/mesh.hpp>

struct Blob {
  Blob() = default;
  explicit Blob(int) {}
  int* p = nullptr;
};

struct Opaque {
  static constexpr mesh::fixed_string name = "opaque";
  using input = Blob;
  void process(Blob const&) {}
};

[[maybe_unused]] constexpr bool checked = mesh::flow::host<Opaque>::valid;

int main() {}
