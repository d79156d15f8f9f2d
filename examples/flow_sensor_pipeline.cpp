// A sensor pipeline as a typed compile-time graph (mesh::flow::graph):
//
//    source ──▶ threshold ──▶ aggregator
//   (Reading)   (drops low    (count, mean and max
//                readings)     per sensor)
//
// The compiler checks the graph (names, edges, types, no cycle); start() runs it in a network
// in one call, and data is sent by node name with the type checked at compile time.
#include <mesh/flow.hpp>

#include <cstdio>
#include <map>
#include <string>

struct Reading {
  std::string sensor;
  double value = 0;
};

/// Stamps every reading with a sequence number and passes it on.
struct Source {
  using input = Reading;
  using output = Reading;
  void process(Reading const& r, mesh::flow::emitter<Reading>& out) {
    ++count;
    out.broadcast(r);
  }
  long retrieve() const { return count; }
  long count = 0;
};

/// Passes readings at or above a threshold.
struct Threshold {
  using input = Reading;
  using output = Reading;
  struct options {
    double min = 0;
  };
  explicit Threshold(options o) : opts(o) {}
  void process(Reading const& r, mesh::flow::emitter<Reading>& out) {
    if (r.value >= opts.min) out.broadcast(r);
  }
  options opts;
};

/// Aggregates per sensor; retrieve(sensor) answers one sensor's statistics.
struct Aggregator {
  struct stats {
    long count = 0;
    double sum = 0, max = 0;
  };
  using input = Reading;
  using key = std::string;
  void process(Reading const& r) {
    auto& s = by_sensor[r.sensor];
    ++s.count;
    s.sum += r.value;
    if (s.count == 1 || r.value > s.max) s.max = r.value;
  }
  std::map<std::string, stats> retrieve() const { return by_sensor; }
  stats retrieve(std::string const& sensor) const {
    auto it = by_sensor.find(sensor);
    return it == by_sensor.end() ? stats{} : it->second;
  }
  std::map<std::string, stats> by_sensor;
};

using sensor_pipeline = mesh::flow::graph<          //
    mesh::flow::node<"source", Source>,             //
    mesh::flow::node<"threshold", Threshold>,       //
    mesh::flow::node<"aggregator", Aggregator>,     //
    mesh::flow::edge<"source", "threshold">,        //
    mesh::flow::edge<"threshold", "aggregator">>;

static_assert(sensor_pipeline::topological_order()[0] == "source");

int main() {
  mesh::flow::network net;
  auto p = sensor_pipeline::start(net, mesh::flow::with<"threshold">(Threshold::options{20.0}));
  if (!p) {
    std::fprintf(stderr, "start failed: %s\n", p.error().message.c_str());
    return 1;
  }
  char const* sensors[] = {"kitchen", "garage", "attic"};
  for (int i = 0; i < 300; ++i)
    if (!p->send<"source">(Reading{sensors[i % 3], 10.0 + (i % 30)})) return 1;
  // p->send<"source">(42);  // does not compile: 42 is not a Reading
  if (!net.wait_idle()) return 1;

  std::printf("source saw %ld readings\n", *p->retrieve<"source">());
  auto const all = p->retrieve<"aggregator">();
  if (!all) return 1;
  for (auto const& [sensor, s] : *all)
    std::printf("%-8s count=%ld mean=%.2f max=%.1f\n", sensor.c_str(), s.count, s.sum / double(s.count), s.max);
  auto garage = *p->retrieve<"aggregator">(std::string("garage"));
  std::printf("garage max %.1f\n", garage.max);
  std::printf("%s", sensor_pipeline::to_dot().c_str());
  auto const total = p->info<"aggregator">()->processed;
  std::printf("sensor pipeline OK: %lu readings aggregated\n", static_cast<unsigned long>(total));
}
