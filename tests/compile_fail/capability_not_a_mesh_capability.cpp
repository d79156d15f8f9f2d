// expect: mesh: actor's `capability` is not a mesh::capability
// culprit: {"counter"}, counters>
// Rule: `using capability = X;` must name a type derived from mesh::capability<"...">.
#include <mesh/mesh.hpp>

struct counters {};  // should be: struct counters : mesh::capability<"counters"> {};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Get>;
  explicit Counter(std::string_view) {}
  long handle(Get const&) { return 0; }
};

[[maybe_unused]] constexpr bool checked = mesh::schema<Counter>::valid;

int main() {}
