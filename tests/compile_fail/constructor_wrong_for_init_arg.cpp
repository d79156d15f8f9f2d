// expect: mesh: actor cannot be constructed
// culprit: {"counter"}, Start>
// Rule: an actor with `init_arg` has the constructor `Actor(std::string_view id, init_arg const&)`.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Get {};
struct Start {
  BOOST_HANA_DEFINE_STRUCT(Start, (long, initial));
};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Get>;
  using init_arg = Start;
  explicit Counter(std::string_view) {}  // ignores init_arg: should take (std::string_view, Start const&)
  long handle(Get const&) { return 0; }
};

[[maybe_unused]] constexpr bool checked = mesh::schema<Counter>::valid;

int main() {}
