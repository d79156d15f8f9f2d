// expect: mesh: actor has no `messages` list
// culprit: actor_needs_a_messages_list<mesh::fixed_string<8>{"counter"}>
// Rule: every actor declares `using messages = mesh::list<...>;`.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  explicit Counter(std::string_view) {}
  long handle(Get const&) { return 0; }
};

using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
}
