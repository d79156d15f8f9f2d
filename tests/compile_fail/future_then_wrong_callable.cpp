// expect: mesh: future<T>::then(f) needs a copyable f callable with one mesh::result<mesh::reply<T>>
// culprit: [with F = main()::<lambda(const std::string&)>; T = long int]
// Rule: a continuation takes the call's result (mesh::result<mesh::reply<T>>), not the bare value.
#include <mesh/mesh.hpp>

#include <string>

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

using app = mesh::schema<Counter>;

int main() {
  mesh::node<app> n{mesh::node_config{}};
  n.call_async<Counter>("c1", Add{1}).then([](std::string const&) {});  // should take the result
}
