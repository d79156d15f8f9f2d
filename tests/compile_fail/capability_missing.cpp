// expect: mesh: actor's `capability` is not a mesh::capability
// culprit: {"counter"}, void>
// Rule: every actor declares `using capability = ...;` (a mesh::capability); here it is absent.
#include <mesh/mesh.hpp>

struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using messages = mesh::list<Get>;
  explicit Counter(std::string_view) {}
  long handle(Get const&) { return 0; }
};

[[maybe_unused]] constexpr bool checked = mesh::check_actor<Counter>();

int main() {}
