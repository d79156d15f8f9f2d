// expect: mesh: handle() returns a type that is not serializable
// culprit: {"counter"}, Get, long int*>
// Rule: a handler's return type (the reply) is void or serializable.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Get>;
  explicit Counter(std::string_view) {}
  long* handle(Get const&) { return &value; }
  long value = 0;
};

[[maybe_unused]] constexpr bool checked = mesh::wire::check_actor_serializable<Counter>();

int main() {}
