// DataMesh benchmark: mesh::flow::network next to oneTBB's flow_graph, same shapes, same process.
//
//   pipeline:  source -> filter (passes even items) -> sink, 10,000,000 ints fed from one
//              thread; reports items/s (items fed / time until the network is idle).
//   broadcast: source -> 10 sinks, 1,000,000 ints; reports deliveries/s (10 per item).
//
// Every node is serial (one item at a time) in both systems: mesh nodes by design, TBB's
// function_nodes with `serial` concurrency and their default (unbounded) input buffers. Each
// case runs --runs times (default 5) on a fresh network / graph; the JSON reports median, min
// and max, mesh/TBB ratios of the medians, and whether mesh is within 2x of TBB. Progress on
// stderr, one JSON object on stdout.
//
//   mesh_bench_flow [--runs N] [--quick] [--no-baseline] [--workers N]
#include <mesh/flow.hpp>

#ifdef MESH_BENCH_HAVE_TBB
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/version.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct options {
  int runs = 5;
  bool quick = false;
  bool baseline = true;
  std::size_t workers = 0;
};

struct stats {
  double median = 0, min = 0, max = 0;
};

stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  stats s;
  s.min = v.front();
  s.max = v.back();
  auto const n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return s;
}

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

/// Runs a case and returns items (or deliveries) per second; exits on a wrong result.
double mesh_pipeline(options const& o, int n) {
  mesh::flow::network_config cfg;
  cfg.workers = o.workers;
  mesh::flow::network net(cfg);
  if (!net.start_node<Pass>("source") || !net.start_node<EvenFilter>("filter") || !net.start_node<Sum>("sink") ||
      !net.connect("source", "filter") || !net.connect("filter", "sink"))
    std::exit(2);
  auto const t0 = steady::now();
  for (int i = 0; i < n; ++i)
    if (!net.send_data("source", i)) std::exit(2);
  if (!net.wait_idle(std::chrono::minutes(5))) std::exit(2);
  double const s = std::chrono::duration<double>(steady::now() - t0).count();
  if (*net.retrieve_data<Sum>("sink") != n / 2) {
    std::fprintf(stderr, "mesh pipeline: wrong count\n");
    std::exit(1);
  }
  return n / s;
}

double mesh_broadcast(options const& o, int n, int fan) {
  mesh::flow::network_config cfg;
  cfg.workers = o.workers;
  mesh::flow::network net(cfg);
  if (!net.start_node<Pass>("source")) std::exit(2);
  for (int k = 0; k < fan; ++k)
    if (!net.start_node<Sum>(k) || !net.connect("source", k)) std::exit(2);
  auto const t0 = steady::now();
  for (int i = 0; i < n; ++i)
    if (!net.send_data("source", i)) std::exit(2);
  if (!net.wait_idle(std::chrono::minutes(5))) std::exit(2);
  double const s = std::chrono::duration<double>(steady::now() - t0).count();
  for (int k = 0; k < fan; ++k)
    if (*net.retrieve_data<Sum>(k) != n) {
      std::fprintf(stderr, "mesh broadcast: wrong count\n");
      std::exit(1);
    }
  return double(n) * fan / s;
}

#ifdef MESH_BENCH_HAVE_TBB
namespace tf = oneapi::tbb::flow;

double tbb_pipeline(int n) {
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
  auto const t0 = steady::now();
  for (int i = 0; i < n; ++i) source.try_put(i);
  g.wait_for_all();
  double const s = std::chrono::duration<double>(steady::now() - t0).count();
  if (count != n / 2) {
    std::fprintf(stderr, "tbb pipeline: wrong count\n");
    std::exit(1);
  }
  return n / s;
}

double tbb_broadcast(int n, int fan) {
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
  auto const t0 = steady::now();
  for (int i = 0; i < n; ++i) source.try_put(i);
  g.wait_for_all();
  double const s = std::chrono::duration<double>(steady::now() - t0).count();
  for (auto c : counts)
    if (c != n) {
      std::fprintf(stderr, "tbb broadcast: wrong count\n");
      std::exit(1);
    }
  return double(n) * fan / s;
}
#endif

std::vector<double> repeat(int runs, char const* what, std::function<double()> const& f) {
  std::vector<double> v;
  for (int r = 0; r < runs; ++r) {
    v.push_back(f());
    std::fprintf(stderr, "  %s run %d: %.3g/s\n", what, r + 1, v.back());
  }
  return v;
}

std::string json_stats(stats const& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"median\": %.0f, \"min\": %.0f, \"max\": %.0f}", s.median, s.min, s.max);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    if (a == "--runs" && i + 1 < argc) o.runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--quick") o.quick = true;
    else if (a == "--no-baseline") o.baseline = false;
    else if (a == "--workers" && i + 1 < argc) o.workers = std::size_t(std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: mesh_bench_flow [--runs N] [--quick] [--no-baseline] [--workers N]\n");
      return 2;
    }
  }
  int const pipeline_items = o.quick ? 200000 : 10000000;
  int const broadcast_items = o.quick ? 50000 : 1000000;
  int const fan = 10;
  bool have_tbb = false;
#ifdef MESH_BENCH_HAVE_TBB
  have_tbb = o.baseline;
#endif

  std::fprintf(stderr, "pipeline: %d items, 3 stages\n", pipeline_items);
  auto const mp = summarize(repeat(o.runs, "mesh pipeline", [&] { return mesh_pipeline(o, pipeline_items); }));
  stats tp{}, tb{};
#ifdef MESH_BENCH_HAVE_TBB
  if (have_tbb) tp = summarize(repeat(o.runs, "tbb pipeline", [&] { return tbb_pipeline(pipeline_items); }));
#endif
  std::fprintf(stderr, "broadcast: %d items to %d nodes\n", broadcast_items, fan);
  auto const mb = summarize(repeat(o.runs, "mesh broadcast", [&] { return mesh_broadcast(o, broadcast_items, fan); }));
#ifdef MESH_BENCH_HAVE_TBB
  if (have_tbb) tb = summarize(repeat(o.runs, "tbb broadcast", [&] { return tbb_broadcast(broadcast_items, fan); }));
#endif

  std::string tbb_version = "none";
#ifdef MESH_BENCH_HAVE_TBB
  tbb_version = TBB_VERSION_STRING;
#endif
  unsigned const hw = std::thread::hardware_concurrency();
  std::printf("{\n  \"benchmark\": \"mesh.flow\",\n  \"hardware_threads\": %u,\n  \"workers\": %zu,\n  \"runs\": %d,\n",
              hw, o.workers ? o.workers : hw, o.runs);
  std::printf("  \"baseline\": \"%s\",\n", have_tbb ? ("oneTBB flow_graph " + tbb_version).c_str() : "none");
  auto ratio_line = [&](stats const& m, stats const& t) {
    if (!have_tbb) return std::string("null");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", m.median / t.median);
    return std::string(buf);
  };
  auto within = [&](stats const& m, stats const& t) {
    return !have_tbb ? "null" : (m.median >= 0.5 * t.median ? "true" : "false");
  };
  std::printf("  \"pipeline\": {\"items\": %d, \"stages\": 3, \"unit\": \"items/s\",\n", pipeline_items);
  std::printf("    \"mesh\": %s,\n", json_stats(mp).c_str());
  std::printf("    \"tbb\": %s,\n", have_tbb ? json_stats(tp).c_str() : "null");
  std::printf("    \"mesh_over_tbb\": %s, \"within_2x_of_tbb\": %s},\n", ratio_line(mp, tp).c_str(), within(mp, tp));
  std::printf("  \"broadcast\": {\"items\": %d, \"fan_out\": %d, \"unit\": \"deliveries/s\",\n", broadcast_items, fan);
  std::printf("    \"mesh\": %s,\n", json_stats(mb).c_str());
  std::printf("    \"tbb\": %s,\n", have_tbb ? json_stats(tb).c_str() : "null");
  std::printf("    \"mesh_over_tbb\": %s, \"within_2x_of_tbb\": %s}\n}\n", ratio_line(mb, tb).c_str(), within(mb, tb));
}
