// expect: mesh: actor type is not part of this node's schema
// culprit: actor_not_in_schema<Player>
// Rule: a node only calls actors listed in its mesh::schema<...>.
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
struct Player {  // a valid actor, but not in the schema below
  static constexpr mesh::fixed_string name = "player";
  using capability = game;
  using messages = mesh::list<Get>;
  explicit Player(std::string_view) {}
  long handle(Get const&) { return 1; }
};

using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
  (void)n.call<Player>("p1", Get{});
}
