// expect: mesh: message type is not serializable
// culprit: {"counter"}, Add>
// Rule: every listed message type can go on the wire (reflected struct or msgpack type).
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Add {  // not reflected, and a raw pointer cannot travel anyway
  long* n;
};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return *a.n; }
};

[[maybe_unused]] constexpr bool checked = mesh::wire::check_serializable<mesh::schema<Counter>>();

int main() {}
