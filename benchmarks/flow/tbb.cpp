// The DataMesh scenario on oneTBB's flow_graph (libtbb-dev; built only when CMake found it,
// MESH_BENCH_HAVE_TBB).
#include "scenario.hpp"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/version.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <tuple>
#include <vector>

namespace flow_bench {
namespace {

namespace tf = oneapi::tbb::flow;

timed_totals tbb_pipeline(options const& o, int n) {
  tf::graph g;
  long long count = 0;
  tf::function_node<int, int> source(g, tf::serial, [](int v) { return v; });
  tf::multifunction_node<int, std::tuple<int>> filter(g, tf::serial, [](int const& v, auto& ports) {
    if ((v & 1) == 0) std::get<0>(ports).try_put(v);
  });
  tf::function_node<int, tf::continue_msg> sink(g, tf::serial, [&](int) {
    ++count;
    return tf::continue_msg();
  });
  tf::make_edge(source, filter);
  tf::make_edge(tf::output_port<0>(filter), sink);
  auto const t = run_for(o.duration_s, [&] {
    auto const t0 = steady::now();
    for (int i = 0; i < n; ++i) source.try_put(i);
    g.wait_for_all();
    return round_result{static_cast<std::uint64_t>(n), seconds_since(t0)};
  });
  if (count != static_cast<long long>(t.rounds) * (n / 2)) {
    std::fprintf(stderr, "tbb pipeline: wrong count\n");
    std::exit(1);
  }
  return t;
}

timed_totals tbb_broadcast(options const& o, int n, int fan) {
  tf::graph g;
  std::vector<long long> counts(std::size_t(fan), 0);
  tf::function_node<int, int> source(g, tf::serial, [](int v) { return v; });
  std::vector<std::unique_ptr<tf::function_node<int, tf::continue_msg>>> sinks;
  for (int k = 0; k < fan; ++k) {
    auto* c = &counts[std::size_t(k)];
    sinks.push_back(std::make_unique<tf::function_node<int, tf::continue_msg>>(g, tf::serial, [c](int) {
      ++*c;
      return tf::continue_msg();
    }));
    tf::make_edge(source, *sinks.back());
  }
  auto const t = run_for(o.duration_s, [&] {
    auto const t0 = steady::now();
    for (int i = 0; i < n; ++i) source.try_put(i);
    g.wait_for_all();
    return round_result{static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(fan), seconds_since(t0)};
  });
  for (auto c : counts)
    if (c != static_cast<long long>(t.rounds) * n) {
      std::fprintf(stderr, "tbb broadcast: wrong count\n");
      std::exit(1);
    }
  return t;
}

}  // namespace

system tbb_system() { return {&tbb_pipeline, &tbb_broadcast}; }
std::string tbb_version() { return TBB_VERSION_STRING; }

}  // namespace flow_bench
