// expect: mesh: two actors in the schema share this name
// culprit: actor_name_not_unique_in_schema<mesh::fixed_string<7>{"player"}>
// Rule: actor names are unique in a schema; the first clash is reported once.
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
struct Player {
  static constexpr mesh::fixed_string name = "player";
  using capability = game;
  using messages = mesh::list<Get>;
  explicit Player(std::string_view) {}
  long handle(Get const&) { return 1; }
};
struct Npc {
  static constexpr mesh::fixed_string name = "player";  // copy-pasted from Player
  using capability = game;
  using messages = mesh::list<Get>;
  explicit Npc(std::string_view) {}
  long handle(Get const&) { return 2; }
};

using app = mesh::schema<Counter, Player, Npc>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
}
