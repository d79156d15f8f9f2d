// DataMesh benchmark: mesh::flow::network next to oneTBB's flow_graph, same shapes, same process.
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
#include <mesh/flow.hpp>

#include "../common/timed.hpp"

#ifdef MESH_BENCH_HAVE_TBB
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/version.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

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

#ifdef MESH_BENCH_HAVE_TBB
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
#endif

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

std::string json_stats(figures const& f) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"median\": %.0f, \"min\": %.0f, \"max\": %.0f, \"runs\": [", f.rate.median,
                f.rate.min, f.rate.max);
  std::string s = buf;
  for (std::size_t i = 0; i < f.rate.runs.size(); ++i) s += (i ? ", " : "") + mesh_bench::json_number(std::round(f.rate.runs[i]));
  return s + "], " + f.work.json_fields() + "}";
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  bool duration_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    if (a == "--runs" && i + 1 < argc) o.runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--duration" && i + 1 < argc && mesh_bench::parse_seconds(argv[i + 1])) {
      o.duration_s = *mesh_bench::parse_seconds(argv[++i]);
      duration_given = true;
    } else if (a == "--quick") o.quick = true;
    else if (a == "--no-baseline") o.baseline = false;
    else if (a == "--workers" && i + 1 < argc) o.workers = std::size_t(std::atoi(argv[++i]));
    else {
      std::fprintf(stderr,
                   "usage: mesh_bench_flow [--runs N] [--duration SECONDS] [--quick] [--no-baseline] [--workers N]\n"
                   "  --duration S  wall-clock seconds of each case per run and system (default 2; 0.1 with --quick)\n");
      return 2;
    }
  }
  if (o.quick && !duration_given) o.duration_s = mesh_bench::quick_duration_s;
  // Items per round: a round is long enough that filling and draining the network is noise, and
  // short enough (~0.1-0.3 s on the development VM) that the duration sets a run's length.
  int const pipeline_items = o.quick ? 100'000 : 1'000'000;
  int const broadcast_items = o.quick ? 10'000 : 100'000;
  int const fan = 10;
  bool have_tbb = false;
#ifdef MESH_BENCH_HAVE_TBB
  have_tbb = o.baseline;
#endif

  std::fprintf(stderr, "pipeline: rounds of %d items, 3 stages, %.3g s per run\n", pipeline_items, o.duration_s);
  auto const mp = repeat(o, "mesh pipeline", [&] { return mesh_pipeline(o, pipeline_items); });
  figures tp{}, tb{};
#ifdef MESH_BENCH_HAVE_TBB
  if (have_tbb) tp = repeat(o, "tbb pipeline", [&] { return tbb_pipeline(o, pipeline_items); });
#endif
  std::fprintf(stderr, "broadcast: rounds of %d items to %d nodes, %.3g s per run\n", broadcast_items, fan, o.duration_s);
  auto const mb = repeat(o, "mesh broadcast", [&] { return mesh_broadcast(o, broadcast_items, fan); });
#ifdef MESH_BENCH_HAVE_TBB
  if (have_tbb) tb = repeat(o, "tbb broadcast", [&] { return tbb_broadcast(o, broadcast_items, fan); });
#endif

  std::string tbb_version = "none";
#ifdef MESH_BENCH_HAVE_TBB
  tbb_version = TBB_VERSION_STRING;
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
}
