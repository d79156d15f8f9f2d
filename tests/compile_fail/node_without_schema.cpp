// expect: mesh: mesh::node takes a mesh::schema<Actors...>
// culprit: node_needs_a_schema<Counter>
// Rule: mesh::node is instantiated with a mesh::schema, not with an actor type.
#include <mesh/mesh.hpp>

struct game : mesh::capability<"game"> {};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = game;
  using messages = mesh::list<Get>;
  explicit Counter(std::string_view) {}
  long handle(Get const&) { return 0; }
};

int main() {
  mesh::node<Counter> n{mesh::node_config{}};  // should be mesh::node<mesh::schema<Counter>>
}
