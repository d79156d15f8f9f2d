// The actor scenario's one signature: every system (mesh.cpp, inline_map.cpp, caf.cpp) runs the
// same five workloads on the same Counter and hands them to main.cpp as a `system`, a table of
// run functions. The workloads themselves (the timed loops) are in workloads.hpp, instantiated
// in each system's file with its backend.
#pragma once

#include <mesh/core/capability.hpp>
#include <mesh/core/fixed_string.hpp>
#include <mesh/core/list.hpp>
#include <mesh/wire/reflect.hpp>  // BOOST_HANA_DEFINE_STRUCT

#include "../common/timed.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

// ---- the actor under test ---------------------------------------------------------------------

struct counters : mesh::capability<"counters"> {};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return total += a.n; }
  long handle(Get const&) { return total; }
  long total = 0;
};
// ---- workloads --------------------------------------------------------------------------------

struct sizes {
  std::size_t activations = 50'000, activations_window = 500;
  std::size_t hot_calls = 10'000, hot_window = 200;
  std::size_t sequential_calls = 200'000, sequential_warmup = 1'000;
  // Elixir Mesh fixes only the window and the actor count here; a round is 100 calls per actor,
  // short enough that the duration, not the round, sets how long a run takes.
  std::size_t throughput_calls = 100'000, throughput_window = 256, throughput_actors = 1'000;
  std::size_t memory_activations = 100'000;

  /// Every count divided by k (at least 1); windows unchanged.
  sizes scaled(std::size_t k) const {
    sizes z = *this;
    for (auto* n : {&z.activations, &z.hot_calls, &z.sequential_calls, &z.sequential_warmup, &z.throughput_calls,
                    &z.throughput_actors, &z.memory_activations})
      *n = std::max<std::size_t>(1, *n / k);
    return z;
  }
};

/// What one run of one workload measured.
struct run_result {
  std::vector<std::pair<std::string, double>> metrics;  // name -> value, in a fixed order
  std::size_t failed = 0;
  bool verified = true;                      // the sanity check of every round held
  std::optional<mesh_bench::timed_totals> work;  // timed cases: rounds, operations, seconds
};

/// One run of one workload on one system, for the run's duration in seconds (0: one round, the
/// warm-up).
using run_fn = run_result (*)(sizes const&, double duration_s);

/// A system under test: its label in the JSON and its run of each workload.
struct system {
  std::string_view label;
  run_fn activations, hot_actor, sequential, throughput, memory;
};

/// mesh::node (mesh.cpp), node_config{.name = "bench", .workers = 0}.
system mesh_system();
/// Worker threads of a mesh node as the benchmark configures it (constructs one).
std::size_t mesh_workers();
/// sizeof(mesh::detail::activation<Counter>).
std::size_t mesh_sizeof_activation();

/// The floor: the same Counter in a mutex-guarded hash map, run inline (inline_map.cpp).
system inline_map_system();

#ifdef MESH_BENCH_HAVE_CAF
/// The C++ Actor Framework 0.17 (caf.cpp); `scheduler`: "stealing" (CAF's default) or "sharing".
system caf_system(std::string const& scheduler);
/// Scheduler threads of the CAF actor system the benchmark configures (constructs one).
std::size_t caf_workers();
/// sizeof(caf::stateful_actor<...>) of the CAF Counter.
std::size_t caf_sizeof_actor();
/// "0.17.6".
std::string caf_version();
#endif

}  // namespace bench
