// expect: mesh: actor cannot be constructed
// culprit: {"counter"}, mesh::no_init>
// Rule: an actor without init_arg is constructible from its id: `Actor(std::string_view id)`.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Get>;
  explicit Counter(int start) : value(start) {}  // neither Counter(std::string_view) nor Counter()
  long handle(Get const&) { return value; }
  long value;
};

using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
}
