// expect: mesh: an actor must be a class type
// culprit: actor_type_must_be_a_class<int>
// Rule: every entry of mesh::schema<...> is an actor class type.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Get>;
  explicit Counter(std::string_view) {}
  long handle(Get const&) { return 0; }
};

using app = mesh::schema<Counter, int>;
[[maybe_unused]] constexpr bool checked = app::valid;

int main() {}
