// The DataMesh scenario on mesh::flow::network.
#include <mesh/flow.hpp>

#include "scenario.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace flow_bench {
namespace {

// ---- mesh::flow logics ----------------------------------------------------------------------
struct Pass {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) { out.broadcast(v); }
};
struct EvenFilter {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) {
    if ((v & 1) == 0) out.broadcast(v);
  }
};
struct Sum {
  using input = int;
  void process(int const& v) {
    sum += v;
    ++count;
  }
  long long retrieve() const { return count; }
  long long sum = 0, count = 0;
};

// Each case runs one run: rounds on one network / graph for o.duration_s; returns the totals
// (operations: items, or deliveries for the broadcast). Exits on a wrong result.
timed_totals mesh_pipeline(options const& o, int n) {
  mesh::flow::network_config cfg;
  cfg.workers = o.workers;
  mesh::flow::network net(cfg);
  if (!net.start_node<Pass>("source") || !net.start_node<EvenFilter>("filter") || !net.start_node<Sum>("sink") ||
      !net.connect("source", "filter") || !net.connect("filter", "sink"))
    std::exit(2);
  auto const t = run_for(o.duration_s, [&] {
    auto const t0 = steady::now();
    for (int i = 0; i < n; ++i)
      if (!net.send_data("source", i)) std::exit(2);
    if (!net.wait_idle(std::chrono::minutes(5))) std::exit(2);
    return round_result{static_cast<std::uint64_t>(n), seconds_since(t0)};
  });
  if (*net.retrieve_data<Sum>("sink") != static_cast<long long>(t.rounds) * (n / 2)) {
    std::fprintf(stderr, "mesh pipeline: wrong count\n");
    std::exit(1);
  }
  return t;
}

timed_totals mesh_broadcast(options const& o, int n, int fan) {
  mesh::flow::network_config cfg;
  cfg.workers = o.workers;
  mesh::flow::network net(cfg);
  if (!net.start_node<Pass>("source")) std::exit(2);
  for (int k = 0; k < fan; ++k)
    if (!net.start_node<Sum>(k) || !net.connect("source", k)) std::exit(2);
  auto const t = run_for(o.duration_s, [&] {
    auto const t0 = steady::now();
    for (int i = 0; i < n; ++i)
      if (!net.send_data("source", i)) std::exit(2);
    if (!net.wait_idle(std::chrono::minutes(5))) std::exit(2);
    return round_result{static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(fan), seconds_since(t0)};
  });
  for (int k = 0; k < fan; ++k)
    if (*net.retrieve_data<Sum>(k) != static_cast<long long>(t.rounds) * n) {
      std::fprintf(stderr, "mesh broadcast: wrong count\n");
      std::exit(1);
    }
  return t;
}

}  // namespace

system mesh_system() { return {&mesh_pipeline, &mesh_broadcast}; }

}  // namespace flow_bench
