// expect: mesh: register_capabilities<...> takes mesh::capability types
// culprit: not_a_capability<chat>
// Rule: register_capabilities<Caps...>() takes mesh::capability types only.
#include <mesh/mesh.hpp>

struct game : mesh::capability<"game"> {};
struct chat {};  // should be: struct chat : mesh::capability<"chat"> {};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = game;
  using messages = mesh::list<Get>;
  explicit Counter(std::string_view) {}
  long handle(Get const&) { return 0; }
};

using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
  n.register_capabilities<game, chat>();
}
