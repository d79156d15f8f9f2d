// expect: mesh: a flow network attached to a mesh::node needs mesh::flow::host<Logics...> in the node's schema
// culprit: flow_network_needs_a_host_in_the_schema<mesh::node<mesh::schema<Counter> > >
// Rule: mesh::flow::network net{node} needs the host actor in the node's schema.
#include <mesh/mesh.hpp>

struct counters : mesh::capability<"counters"> {};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return a.n; }
};

int main() {
  mesh::node<mesh::schema<Counter>> node;
  mesh::flow::network net{node};
}
