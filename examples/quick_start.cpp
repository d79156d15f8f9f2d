// Quick start from the README: one node, one actor, one call. Kept identical to the README snippet.
#include <mesh/mesh.hpp>
#include <iostream>

struct counters : mesh::capability<"counters"> {};
struct Add { BOOST_HANA_DEFINE_STRUCT(Add, (long, n)); };
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";   // wire identity
  using capability = counters;                            // which nodes may host it
  using messages = mesh::list<Add, Get>;                  // wire order
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return total += a.n; }      // return type = reply type
  long handle(Get const&) { return total; }
  long total = 0;
};
using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{.name = "n1"}};    // add .listen/.seeds to join a cluster
  n.register_capabilities<counters>();
  auto r = n.call<Counter>("c1", Add{5});                 // mesh::result<mesh::reply<long>>
  std::cout << r->value << " on " << r->ref.node << "\n"; // prints: 5 on n1
}
