// expect: mesh: actor's init_arg is not serializable
// culprit: {"counter"}, Start>
// Rule: `init_arg` travels with the first request, so it must be serializable.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Get {};
struct Start {  // not reflected
  long initial;
  char const* label;
};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Get>;
  using init_arg = Start;
  Counter(std::string_view, Start const& s) : value(s.initial) {}
  long handle(Get const&) { return value; }
  long value;
};

[[maybe_unused]] constexpr bool checked = mesh::wire::check_serializable<mesh::schema<Counter>>();

int main() {}
