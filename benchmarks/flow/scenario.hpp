// The DataMesh scenario's one signature: every system (mesh.cpp, tbb.cpp) builds the same two
// shapes, serial nodes only, and runs one run of each for the options' duration; main.cpp runs
// them in turn in one process.
#pragma once

#include "../common/timed.hpp"

#include <cstddef>
#include <string>

namespace flow_bench {

using mesh_bench::round_result;
using mesh_bench::run_for;
using mesh_bench::seconds_since;
using mesh_bench::steady;
using mesh_bench::timed_totals;

struct options {
  int runs = 5;
  double duration_s = mesh_bench::default_duration_s;
  bool quick = false;
  bool baseline = true;
  std::size_t workers = 0;
};

/// A system under test. One run each: rounds on one network / graph for o.duration_s; returns
/// the totals (operations: items, or deliveries for the broadcast). Exits on a wrong result.
struct system {
  /// source -> filter (passes even items) -> sink, rounds of `n` items fed from one thread.
  timed_totals (*pipeline)(options const& o, int n);
  /// source -> `fan` sinks, rounds of `n` items.
  timed_totals (*broadcast)(options const& o, int n, int fan);
};

/// mesh.cpp: mesh::flow::network.
system mesh_system();
#ifdef MESH_BENCH_HAVE_TBB
/// tbb.cpp: oneTBB's flow_graph, function_nodes with `serial` concurrency.
system tbb_system();
/// TBB_VERSION_STRING.
std::string tbb_version();
#endif

}  // namespace flow_bench
