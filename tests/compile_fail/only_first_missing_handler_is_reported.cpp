// expect: mesh: actor lists a message it has no handle() for
// culprit: {"counter"}, Get>
// Firewall: two messages lack a handler; only the first one (Get) is reported, once.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Get {};
struct Reset {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get, Reset>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return a.n; }
  // missing: long handle(Get const&); void handle(Reset const&);
};

[[maybe_unused]] constexpr bool checked = mesh::schema<Counter>::valid;

int main() {}
