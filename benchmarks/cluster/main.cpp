// Remote call benchmark: two OS processes on loopback, 64-byte payload. This file is the driver;
// one file per system behind scenario.hpp's signature: mesh.cpp, raw_zmq.cpp, caf.cpp.
//   mesh: a client node calls an Echo actor hosted by a server node (another process), with CURVE
//         on (the default; one cluster secret made here with mesh::generate_cluster_secret and
//         given to both nodes); also as mesh_insecure (node_config::insecure = true on both: plain
//         TCP), mesh_workers (CURVE; the server runs the handler on a worker) and mesh_no_spin
//         (CURVE; the client's waiting callers sleep at once: node_config::reply_spin = 0).
//   raw:  cppzmq DEALER -> ROUTER echo with the same frames (header + payload), the transport floor:
//         raw_cppzmq over plain TCP, raw_cppzmq_curve over CurveZMQ (the floor for mesh with CURVE).
//   caf:  (when built with the C++ Actor Framework 0.17, libcaf-dev: MESH_BENCH_HAVE_CAF) a
//         scoped_actor requests an echo actor that another process published through CAF's
//         middleman (BASP over TCP); the reply is checked to be the 64-byte payload.
// Reports sequential p50/p99 latency and calls/s, and pipelined throughput with 16 and 256
// outstanding requests, as JSON with ratios: mesh_over_raw_curve (like for like, CURVE both),
// mesh_insecure_over_raw (like for like, plain TCP both), mesh_over_raw (CURVE mesh over plain
// raw: includes CURVE's cost), the same for mesh_workers and mesh_no_spin, and mesh_over_caf.
//
// Each of the three cases is timed the same way for every system (benchmarks/common/timed.hpp):
// rounds of 1,000 sequential calls, or of 10,000 calls with the window kept full, repeat until
// --duration seconds (default 2) of wall-clock time have passed, at least one whole round; the
// rate is calls / time inside the rounds and the percentiles cover every call of the run. Each
// run spawns a fresh server process per system (raw, raw_curve, mesh, mesh_insecure, mesh_workers,
// mesh_no_spin, caf in turn) and warms it with 1,000 calls. The JSON records the rounds and calls
// of every run next to each figure.
//   mesh_bench_remote [--runs N] [--duration SECONDS] [--quick] [--no-caf] [--caf-scheduler stealing|sharing]
#include "../common/options.hpp"
#include "../common/timed.hpp"
#include "scenario.hpp"

#include <mesh/transport/curve.hpp>  // mesh::generate_cluster_secret

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace remote_bench {
namespace {

constexpr char const* usage_text =
    "usage: mesh_bench_remote [--runs N] [--duration SECONDS] [--quick] [--no-caf] "
    "[--caf-scheduler stealing|sharing]\n"
    "  --duration S  wall-clock seconds of each case per run and system (default 2; 0.1 with --quick)\n"
    "  --quick       1 run, rounds of 100 sequential / 1,000 pipelined calls, short duration\n";

}  // namespace

int main(int argc, char** argv) {
  std::string caf_scheduler = "stealing";
  bool caf = true;
  auto const opt = mesh_bench::parse_options(argc, argv, usage_text, [&](std::string_view a, auto&& next) {
    if (a == "--no-caf") {
      caf = false;
    } else if (a == "--caf-scheduler") {
      caf_scheduler = next();
      if (caf_scheduler != "stealing" && caf_scheduler != "sharing") return false;
    } else {
      return false;
    }
    return true;
  });
  int const runs = opt.quick && !opt.runs_given ? 1 : opt.runs;  // a smoke run: explicit options still win
  double const duration_s = opt.quick && !opt.duration_given ? mesh_bench::quick_duration_s : opt.duration_s;
  bool const quick = opt.quick;
  round_sizes z;
  if (quick) z = round_sizes{100, 1'000};
#ifndef MESH_BENCH_HAVE_CAF
  caf = false;
  (void)caf;
#endif
  std::string const payload(64, 'x');
  std::vector<figures> mesh_runs, mesh_insecure_runs, mesh_workers_runs, mesh_no_spin_runs, raw_runs, raw_curve_runs,
      caf_runs;
  auto progress = [](char const* sys, int r, figures const& f) {
    std::fprintf(stderr, "[bench] remote/%s run %d: sequential %.0f calls/s (%zu rounds), p50 %.1f us; "
                 "16 outstanding %.0f calls/s (%zu rounds); 256 outstanding %.0f calls/s (%zu rounds)\n",
                 sys, r + 1, f.seq_calls_per_s, f.seq_work.rounds, f.p50_us, f.pipe16, f.pipe16_work.rounds, f.pipe256,
                 f.pipe256_work.rounds);
  };
  // Keys and the cluster secret are made before any server process is forked: the servers inherit
  // them, so each pair of processes shares one explicit secret (not MESH_CLUSTER_SECRET or the file).
  system const raw = raw_zmq_system(false), raw_curve = raw_zmq_system(true);
  std::string const cluster_secret = mesh::generate_cluster_secret();
  std::vector<system> const mesh = mesh_systems(cluster_secret);  // mesh, mesh_insecure, mesh_workers, mesh_no_spin
  std::vector<figures>* const mesh_out[] = {&mesh_runs, &mesh_insecure_runs, &mesh_workers_runs, &mesh_no_spin_runs};
  if (mesh.size() != std::size(mesh_out)) return 2;
#ifdef MESH_BENCH_HAVE_CAF
  system const caf_sys = caf_system(caf_scheduler);
#endif
  // One run of one system: a fresh server process, the client's three cases, the server stopped.
  auto run_system = [&](system const& s, std::vector<figures>& out, int r) {
    auto [pid, ep] = spawn_server(s.server);
    out.push_back(s.client(ep, payload, z, duration_s));
    stop_server(pid);
    progress(s.name, r, out.back());
  };
  for (int r = 0; r < runs; ++r) {
    run_system(raw, raw_runs, r);
    run_system(raw_curve, raw_curve_runs, r);
    for (std::size_t k = 0; k < mesh.size(); ++k) run_system(mesh[k], *mesh_out[k], r);
#ifdef MESH_BENCH_HAVE_CAF
    if (caf) run_system(caf_sys, caf_runs, r);
#endif
  }
  // {"median": .., "min": .., "max": .., "runs": [..], "duration_s": .., "rounds": [..], ...}
  auto pick = [&](std::vector<figures> const& v, double figures::*m, mesh_bench::timed_totals figures::*w) {
    std::vector<double> xs;
    mesh_bench::work_log log{duration_s, {}, {}, {}};
    for (auto const& f : v) {
      xs.push_back(f.*m);
      log.add(f.*w);
    }
    auto const s = mesh_bench::summarize(xs);
    return std::pair{s.median, mesh_bench::json_figure(s, log)};
  };
  auto failed = [](std::vector<figures> const& v) {
    int n = 0;
    for (auto const& f : v) n += f.errors;
    return n;
  };
  struct metric {
    char const* name;
    double figures::*m;
    mesh_bench::timed_totals figures::*work;  // the case the figure comes from
  } metrics[] = {{"sequential_calls_per_s", &figures::seq_calls_per_s, &figures::seq_work},
                 {"sequential_p50_us", &figures::p50_us, &figures::seq_work},
                 {"sequential_p99_us", &figures::p99_us, &figures::seq_work},
                 {"pipelined_16_calls_per_s", &figures::pipe16, &figures::pipe16_work},
                 {"pipelined_256_calls_per_s", &figures::pipe256, &figures::pipe256_work}};
  std::cout << "{\n  \"benchmark\": \"remote_call\",\n  \"payload_bytes\": 64,\n  \"runs\": " << runs
            << ",\n  \"quick\": " << (quick ? "true" : "false") << ",\n  \"duration_s\": "
            << mesh_bench::json_number(duration_s) << ",\n  \"calls_per_round\": {\"sequential\": " << z.sequential
            << ", \"pipelined\": " << z.pipelined << "},\n  \"duration_rule\": \"every case of every system repeats "
            << "its round until duration_s of wall-clock time have passed, at least one whole round; rate = calls / "
            << "time inside the rounds; percentiles over every call of the run\",\n  \"cores\": "
            << std::thread::hardware_concurrency() << ",\n  \"compiler\": \"" << __VERSION__ << "\",\n";
#ifdef MESH_BENCH_HAVE_CAF
  std::cout << "  \"caf\": {\"available\": true, \"version\": \"" << caf_version()
            << "\", \"ran\": " << (caf ? "true" : "false") << ", \"scheduler_policy\": \""
            << caf_scheduler << "\", \"transport\": \"caf::io::middleman (BASP over TCP), publish/remote_actor on "
            << "127.0.0.1; scoped_actor request(echo, infinite, std::string) and receive; scheduler.max-threads = "
            << "hardware concurrency in both processes\"},\n";
#else
  std::cout << "  \"caf\": {\"available\": false, \"note\": \"built without the C++ Actor Framework (libcaf-dev, "
            << "CAF 0.17 not found at configure time): every \\\"caf\\\" figure is null\"},\n";
#endif
  // Per metric: every system's figure, then the ratios of medians (latencies: below 1 = mesh faster).
  // *_over_raw_curve: CURVE on both sides (like for like for the CURVE configurations);
  // mesh_insecure_over_raw: plain TCP on both sides (what mesh_over_raw measured before CURVE);
  // mesh_over_raw, mesh_workers_over_raw, mesh_no_spin_over_raw: CURVE mesh over plain raw.
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  double mesh_med[5], insecure_med[5], workers_med[5], no_spin_med[5], raw_med[5], raw_curve_med[5];
  for (int i = 0; i < 5; ++i) {
    auto [mm, ms] = pick(mesh_runs, metrics[i].m, metrics[i].work);
    auto [im, is] = pick(mesh_insecure_runs, metrics[i].m, metrics[i].work);
    auto [wm, ws] = pick(mesh_workers_runs, metrics[i].m, metrics[i].work);
    auto [nm, ns] = pick(mesh_no_spin_runs, metrics[i].m, metrics[i].work);
    auto [rm, rs] = pick(raw_runs, metrics[i].m, metrics[i].work);
    auto [cm_, cs_] = pick(raw_curve_runs, metrics[i].m, metrics[i].work);
    mesh_med[i] = mm, insecure_med[i] = im, workers_med[i] = wm, no_spin_med[i] = nm, raw_med[i] = rm,
    raw_curve_med[i] = cm_;
    std::cout << "  \"" << metrics[i].name << "\": {\n    \"mesh\": " << ms << ",\n    \"mesh_insecure\": " << is
              << ",\n    \"mesh_workers\": " << ws << ",\n    \"mesh_no_spin\": " << ns
              << ",\n    \"raw_cppzmq\": " << rs << ",\n    \"raw_cppzmq_curve\": " << cs_
              << ",\n    \"mesh_over_raw_curve\": " << ratio(mm, cm_)
              << ", \"mesh_insecure_over_raw\": " << ratio(im, rm)
              << ",\n    \"mesh_workers_over_raw_curve\": " << ratio(wm, cm_)
              << ", \"mesh_no_spin_over_raw_curve\": " << ratio(nm, cm_)
              << ",\n    \"mesh_workers_over_raw\": " << ratio(wm, rm)
              << ", \"mesh_no_spin_over_raw\": " << ratio(nm, rm);
    if (!caf_runs.empty()) {
      auto [cm, cs] = pick(caf_runs, metrics[i].m, metrics[i].work);
      std::cout << ",\n    \"caf\": " << cs;
      std::cout << ",\n    \"mesh_over_raw\": " << ratio(mm, rm) << ", \"mesh_over_caf\": " << ratio(mm, cm) << "},\n";
    } else {
      std::cout << ",\n    \"caf\": null, \"mesh_over_raw\": " << ratio(mm, rm) << ", \"mesh_over_caf\": null},\n";
    }
  }
  int const mesh_failed = failed(mesh_runs) + failed(mesh_insecure_runs) + failed(mesh_workers_runs) +
                          failed(mesh_no_spin_runs),
            caf_failed = failed(caf_runs);
  std::cout << "  \"failed_calls\": {\"mesh\": " << mesh_failed << ", \"caf\": ";
  if (caf_runs.empty()) std::cout << "null";
  else std::cout << caf_failed;
  std::cout << "},\n";
  // The targets compare a mesh configuration with its like-for-like floor: the CURVE
  // configurations with raw_cppzmq_curve, mesh_insecure with raw_cppzmq. Throughput as a ratio of
  // medians, sequential p50 as an absolute margin over the floor's p50 (metrics[1]).
  auto targets = [&](double const* m, double const* floor) {
    return std::string("{\"pipelined_at_least_70pct_of_raw\": ") +
           (ratio(m[3], floor[3]) >= 0.7 && ratio(m[4], floor[4]) >= 0.7 ? "true" : "false") +
           ", \"sequential_p50_within_raw_plus_15us\": " + (m[1] <= floor[1] + 15 ? "true" : "false");
  };
  double const curve256 = ratio(mesh_med[4], raw_curve_med[4]);
  std::cout << "  \"targets_note\": \"targets, targets_mesh_workers, targets_mesh_no_spin: CURVE mesh against "
            << "raw_cppzmq_curve (raw = the CURVE floor); targets_mesh_insecure: mesh_insecure against raw_cppzmq "
            << "(what targets measured before CURVE was the default)\",\n  \"targets\": "
            << targets(mesh_med, raw_curve_med) << ", \"curve_pipelined_256_vs_raw_curve\": {\"ratio\": "
            << curve256 << ", \"at_least\": 0.8, \"met\": " << (curve256 >= 0.8 ? "true" : "false")
            << "}},\n  \"targets_mesh_insecure\": " << targets(insecure_med, raw_med)
            << "},\n  \"targets_mesh_workers\": " << targets(workers_med, raw_curve_med)
            << "},\n  \"targets_mesh_no_spin\": " << targets(no_spin_med, raw_curve_med) << "}\n}\n";
  return mesh_failed == 0 && caf_failed == 0 ? 0 : 1;
}

}  // namespace remote_bench

int main(int argc, char** argv) { return remote_bench::main(argc, argv); }
