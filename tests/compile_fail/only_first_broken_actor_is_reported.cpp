// expect: mesh: actor type has no `name`
// culprit: actor_needs_a_name<Player>
// Firewall: two actors of the schema are broken; only the first one (Player) is reported, once.
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
struct Player {  // no name
  using capability = game;
  using messages = mesh::list<Get>;
  explicit Player(std::string_view) {}
  long handle(Get const&) { return 1; }
};
struct Npc {  // no messages
  static constexpr mesh::fixed_string name = "npc";
  using capability = game;
  explicit Npc(std::string_view) {}
};

using app = mesh::schema<Counter, Player, Npc>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
}
