// expect: mesh: actor lists a message it has no handle() for
// culprit: {"counter"}, Reset>
// Rule: every message listed in `messages` has a handle() overload.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Reset {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Reset>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return a.n; }
  // missing: void handle(Reset const&);
};

[[maybe_unused]] constexpr bool checked = mesh::schema<Counter>::valid;

int main() {}
