// expect: mesh: actor type has no `name`
// culprit: actor_needs_a_name<Counter>
// Rule: every actor declares `static constexpr mesh::fixed_string name`.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Get {};

struct Counter {  // forgot: static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Get>;
  explicit Counter(std::string_view) {}
  long handle(Get const&) { return 0; }
};

using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
}
