// expect: mesh: actor does not list this message type in `messages`
// culprit: {"counter"}, Unlisted>
// Rule: calling an actor with a message it does not list fails to compile (through node::call).
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Unlisted {
  BOOST_HANA_DEFINE_STRUCT(Unlisted, (long, n));
};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return a.n; }
};

using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
  (void)n.call<Counter>("c1", Unlisted{});
}
