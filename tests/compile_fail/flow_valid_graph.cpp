// expect-success: a valid logic, network use and graph compile without a diagnostic
#include <mesh/flow.hpp>

#include <string>

struct Source {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) { out.broadcast(v); }
};
struct Threshold {
  using input = long;
  using output = long;
  struct options {
    long threshold = 0;
  };
  explicit Threshold(options o) : opts(o) {}
  void process(long const& v, mesh::flow::emitter<long>& out) {
    if (v > opts.threshold) out.broadcast(v);
  }
  options opts;
};
struct Sink {
  using input = long;
  using key = std::string;
  void process(long const& v) { sum += v; }
  long retrieve() const { return sum; }
  long retrieve(std::string const&) const { return sum; }
  long sum = 0;
};

using g = mesh::flow::graph<mesh::flow::node<"source", Source>, mesh::flow::node<"filter", Threshold>,
                            mesh::flow::node<"sink", Sink>, mesh::flow::edge<"source", "filter">,
                            mesh::flow::edge<"filter", "sink">>;
static_assert(g::valid);
static_assert(g::topological_order()[2] == "sink");

int main() {
  mesh::flow::network net;
  auto p = g::start(net, mesh::flow::with<"filter">(Threshold::options{3}));
  (void)p->send<"source">(5);
  (void)p->retrieve<"sink">();
  (void)net.retrieve_data<Sink>("sink", "key");
  (void)net.start_node<Threshold>("t", Threshold::options{1});
  (void)g::to_dot();
}
