// DataMesh benchmark: mesh::flow::network next to oneTBB's flow_graph, same shapes, same process.
// This file is the driver; one file per system behind scenario.hpp's signature: mesh.cpp, tbb.cpp.
//
//   pipeline:  source -> filter (passes even items) -> sink, rounds of 1,000,000 ints fed from
//              one thread; reports items/s (items fed / time until the network is idle).
//   broadcast: source -> 10 sinks, rounds of 100,000 ints; reports deliveries/s (10 per item).
//
// Every node is serial (one item at a time) in both systems: mesh nodes by design, TBB's
// function_nodes with `serial` concurrency and their default (unbounded) input buffers. Each
// case runs --runs times (default 5) on a fresh network / graph; within a run, rounds (feed the
// round's items, wait until idle) repeat on that network / graph until --duration seconds
// (default 2) of wall-clock time have passed, at least one whole round, and the rate is items
// (or deliveries) / time inside the rounds (benchmarks/common/timed.hpp). The JSON reports
// median, min and max, the rounds and items of every run, mesh/TBB ratios of the medians, and
// whether mesh is within 2x of TBB. Progress on stderr, one JSON object on stdout.
//
//   mesh_bench_flow [--runs N] [--duration SECONDS] [--quick] [--no-baseline] [--workers N]
#include "../common/options.hpp"
#include "../common/timed.hpp"
#include "scenario.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace flow_bench {
namespace {

constexpr char const* usage_text =
    "usage: mesh_bench_flow [--runs N] [--duration SECONDS] [--quick] [--no-baseline] [--workers N]\n"
    "  --duration S  wall-clock seconds of each case per run and system (default 2; 0.1 with --quick)\n";

/// One system in one case over all runs: the per-run rates and what each run did.
struct figures {
  mesh_bench::stats rate;
  mesh_bench::work_log work;
};

figures repeat(options const& o, char const* what, std::function<timed_totals()> const& f) {
  std::vector<double> v;
  figures out;
  out.work.duration_s = o.duration_s;
  for (int r = 0; r < o.runs; ++r) {
    auto const t = f();
    v.push_back(t.rate());
    out.work.add(t);
    std::fprintf(stderr, "  %s run %d: %.3g/s (%zu rounds in %.2f s)\n", what, r + 1, v.back(), t.rounds, t.wall_seconds);
  }
  out.rate = mesh_bench::summarize(std::move(v));
  return out;
}

std::string json_stats(figures const& f) { return mesh_bench::json_figure(f.rate, f.work, /*whole=*/true); }

}  // namespace

int main(int argc, char** argv) {
  options o;
  auto const run = mesh_bench::parse_options(argc, argv, usage_text, [&](std::string_view a, auto&& next) {
    if (a == "--no-baseline") o.baseline = false;
    else if (a == "--workers") o.workers = std::size_t(std::atoi(std::string(next()).c_str()));
    else return false;
    return true;
  });
  o.runs = run.runs;
  o.duration_s = run.duration_s;
  o.quick = run.quick;
  if (o.quick && !run.duration_given) o.duration_s = mesh_bench::quick_duration_s;
  // Items per round: a round is long enough that filling and draining the network is noise, and
  // short enough (~0.1-0.3 s on the development VM) that the duration sets a run's length.
  int const pipeline_items = o.quick ? 100'000 : 1'000'000;
  int const broadcast_items = o.quick ? 10'000 : 100'000;
  int const fan = 10;
  bool have_tbb = false;
  system const mesh = mesh_system();
#ifdef MESH_BENCH_HAVE_TBB
  have_tbb = o.baseline;
  system const tbb = tbb_system();
#endif

  std::fprintf(stderr, "pipeline: rounds of %d items, 3 stages, %.3g s per run\n", pipeline_items, o.duration_s);
  auto const mp = repeat(o, "mesh pipeline", [&] { return mesh.pipeline(o, pipeline_items); });
  figures tp{}, tb{};
#ifdef MESH_BENCH_HAVE_TBB
  if (have_tbb) tp = repeat(o, "tbb pipeline", [&] { return tbb.pipeline(o, pipeline_items); });
#endif
  std::fprintf(stderr, "broadcast: rounds of %d items to %d nodes, %.3g s per run\n", broadcast_items, fan, o.duration_s);
  auto const mb = repeat(o, "mesh broadcast", [&] { return mesh.broadcast(o, broadcast_items, fan); });
#ifdef MESH_BENCH_HAVE_TBB
  if (have_tbb) tb = repeat(o, "tbb broadcast", [&] { return tbb.broadcast(o, broadcast_items, fan); });
#endif

  std::string tbb_version = "none";
#ifdef MESH_BENCH_HAVE_TBB
  tbb_version = flow_bench::tbb_version();
#endif
  unsigned const hw = std::thread::hardware_concurrency();
  std::printf("{\n  \"benchmark\": \"mesh.flow\",\n  \"hardware_threads\": %u,\n  \"workers\": %zu,\n  \"runs\": %d,\n",
              hw, o.workers ? o.workers : hw, o.runs);
  std::printf("  \"quick\": %s,\n  \"duration_s\": %s,\n", o.quick ? "true" : "false",
              mesh_bench::json_number(o.duration_s).c_str());
  std::printf("  \"duration_rule\": \"every run of every system repeats the case's round (feed the items, wait until "
              "idle) on one network / graph until duration_s of wall-clock time have passed, at least one whole round; "
              "rate = items (deliveries) / time inside the rounds\",\n");
  std::printf("  \"baseline\": \"%s\",\n", have_tbb ? ("oneTBB flow_graph " + tbb_version).c_str() : "none");
  auto ratio_line = [&](figures const& m, figures const& t) {
    if (!have_tbb) return std::string("null");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", m.rate.median / t.rate.median);
    return std::string(buf);
  };
  auto within = [&](figures const& m, figures const& t) {
    return !have_tbb ? "null" : (m.rate.median >= 0.5 * t.rate.median ? "true" : "false");
  };
  std::printf("  \"pipeline\": {\"items_per_round\": %d, \"stages\": 3, \"unit\": \"items/s\",\n", pipeline_items);
  std::printf("    \"mesh\": %s,\n", json_stats(mp).c_str());
  std::printf("    \"tbb\": %s,\n", have_tbb ? json_stats(tp).c_str() : "null");
  std::printf("    \"mesh_over_tbb\": %s, \"within_2x_of_tbb\": %s},\n", ratio_line(mp, tp).c_str(), within(mp, tp));
  std::printf("  \"broadcast\": {\"items_per_round\": %d, \"fan_out\": %d, \"unit\": \"deliveries/s\",\n",
              broadcast_items, fan);
  std::printf("    \"mesh\": %s,\n", json_stats(mb).c_str());
  std::printf("    \"tbb\": %s,\n", have_tbb ? json_stats(tb).c_str() : "null");
  std::printf("    \"mesh_over_tbb\": %s, \"within_2x_of_tbb\": %s}\n}\n", ratio_line(mb, tb).c_str(), within(mb, tb));
  return 0;
}

}  // namespace flow_bench

int main(int argc, char** argv) { return flow_bench::main(argc, argv); }
