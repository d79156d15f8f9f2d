// Single-node actor runtime benchmark: the workloads of Elixir Mesh's own benchmark, run against
// one mesh::node (no sockets) and, behind the same signature, against a baseline that runs the
// same Counter inline from a mutex-guarded hash map (no scheduling, no futures, one thread): the
// floor any runtime pays for "find the actor, run its handler". Built with the C++ Actor Framework
// (CAF 0.17, Debian's libcaf-dev; CMake defines MESH_BENCH_HAVE_CAF), the same workloads also run
// on CAF: the same Counter handler in a stateful CAF actor, spawned on its first call (a virtual
// actor activation done by hand), called with request/response from a scoped_actor.
//
//   1. activations: rounds of 50,000 activations, each created by one call_async, <= 500
//                   outstanding, each round on a fresh node (so every round activates new actors)
//   2. hot actor:   rounds of 10,000 calls on one warm actor, <= 200 outstanding
//   3. sequential:  rounds of 200,000 blocking calls from one thread on one warm actor (p50/p99
//                   per call over every call of the run)
//   4. throughput:  rounds of 100,000 calls, <= 256 outstanding, round robin over 1,000 warm actors
//   5. memory:      RSS delta / count after 100,000 idle activations, next to sizeof(actor)
//
// Cases 1-4 are timed: each run repeats its round until --duration seconds (default 2) of
// wall-clock time have passed, at least one whole round (benchmarks/common/timed.hpp), and
// reports operations / time inside the rounds; the JSON records the rounds and operations of
// every run. Case 5 is count-based (a memory figure, not a rate). Every case runs --runs times
// (default 5) on a fresh node; the JSON reports median, min and max, the targets and a
// `meets_target` computed from the medians. Progress goes to stderr, one JSON object to stdout.
// Exit status 1 when any call failed or a sanity check did not hold.
//
// This file is the driver; one file per system behind scenario.hpp's signature: mesh.cpp,
// inline_map.cpp, caf.cpp; the workloads (the timed loops) in workloads.hpp.
//
//   mesh_bench_actor [--runs N] [--duration SECONDS] [--quick] [--case NAME[,NAME...]]
//                    [--no-baseline] [--no-caf] [--caf-scheduler stealing|sharing] [--no-warmup]

#include <mesh/version.hpp>

#include "../common/json.hpp"
#include "../common/options.hpp"
#include "../common/timed.hpp"
#include "scenario.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#ifndef MESH_BENCH_BUILD_TYPE
#define MESH_BENCH_BUILD_TYPE "unknown (built without CMake)"
#endif
#ifndef MESH_BENCH_CXX_FLAGS
#define MESH_BENCH_CXX_FLAGS ""
#endif

namespace bench {

using summary = mesh_bench::stats;
using mesh_bench::json_writer;
using mesh_bench::summarize;
using mesh_bench::write_list;
using mesh_bench::write_summary;

// ---- driver -----------------------------------------------------------------------------------

struct target {
  std::string metric;  // which metric's median is compared
  std::string op;      // ">=", "<", "<="
  double value = 0;
  std::string text;    // the wording
  bool holds(double v) const {
    if (op == ">=") return v >= value;
    if (op == "<") return v < value;
    return v <= value;
  }
};

struct backend_figures {
  std::vector<std::string> names;        // metric names, in order
  std::vector<summary> summaries;        // one per metric
  std::size_t failed = 0;
  bool verified = true;
  std::optional<mesh_bench::work_log> work;  // timed cases: per run rounds, operations, seconds

  summary const* find(std::string_view m) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == m) return &summaries[i];
    return nullptr;
  }
};

backend_figures repeat(std::string_view workload, std::string_view backend, run_fn fn, sizes const& z, int runs,
                       double duration_s, bool warmup) {
  backend_figures f;
  std::vector<std::vector<double>> values;
  if (warmup) {  // discarded: first-touch page faults, lazy symbol binding, malloc arena growth
    auto w = fn(z.scaled(10), 0);  // one round at 1/10 size
    f.failed += w.failed;
    f.verified = w.verified;
  }
  for (int i = 0; i < runs; ++i) {
    auto r = fn(z, duration_s);
    if (r.work) {
      if (!f.work) f.work = mesh_bench::work_log{duration_s, {}, {}, {}};
      f.work->add(*r.work);
    }
    if (f.names.empty()) {
      for (auto const& [name, v] : r.metrics) f.names.push_back(name);
      values.resize(f.names.size());
    }
    for (std::size_t m = 0; m < r.metrics.size(); ++m) values[m].push_back(r.metrics[m].second);
    f.failed += r.failed;
    f.verified = f.verified && r.verified;
    std::string rounds;
    if (r.work)
      rounds = " (" + std::to_string(r.work->rounds) + " rounds, " + std::to_string(r.work->operations) + " ops in " +
               mesh_bench::json_number(r.work->wall_seconds) + " s)";
    std::fprintf(stderr, "[bench] %.*s/%.*s run %d/%d: %s = %.1f%s%s%s\n", static_cast<int>(workload.size()),
                 workload.data(), static_cast<int>(backend.size()), backend.data(), i + 1, runs,
                 r.metrics.front().first.c_str(), r.metrics.front().second, rounds.c_str(),
                 r.failed ? " (calls failed)" : "", r.verified ? "" : " (CHECK FAILED)");
  }
  for (auto& v : values) f.summaries.push_back(summarize(std::move(v)));
  return f;
}

struct workload {
  std::string name;
  std::string what;
  std::vector<std::pair<std::string, std::size_t>> params;
  run_fn mesh_run;
  run_fn baseline_run;
  run_fn caf_run;  // nullptr: built without CAF
  std::optional<target> goal;
};

#ifdef MESH_BENCH_HAVE_CAF
constexpr bool have_caf = true;
#else
constexpr bool have_caf = false;
#endif

struct options {
  mesh_bench::run_options run;  // --runs, --duration, --quick (benchmarks/common/options.hpp)
  bool baseline = true;
  bool caf = true;
  bool warmup = true;
  std::string caf_scheduler = "stealing";
  std::vector<std::string> only;  // empty: every workload
};

constexpr char const* usage_text =
    "usage: mesh_bench_actor [--runs N] [--duration SECONDS] [--quick] [--case NAME[,NAME...]] [--no-baseline]\n"
    "                        [--no-caf] [--caf-scheduler stealing|sharing] [--no-warmup]\n"
    "  --runs N      repetitions of every case (default 5; 1 with --quick)\n"
    "  --duration S  wall-clock seconds of each timed case per run and backend: rounds repeat until\n"
    "                S have passed, at least one (default 2; 0.1 with --quick); memory is count-based\n"
    "  --quick       tiny rounds (1/100) and a short duration: a smoke run, figures not meaningful\n"
    "  --case LIST   only these workloads: activations, hot_actor, sequential, throughput, memory\n"
    "  --no-baseline skip the inline hash-map baseline\n"
    "  --no-caf      skip the C++ Actor Framework baseline (absent anyway when built without CAF)\n"
    "  --caf-scheduler stealing|sharing  CAF's scheduler policy (default: stealing, CAF's default)\n"
    "  --no-warmup   skip the discarded warm-up round (1/10 size) before each case\n";

options parse(int argc, char** argv) {
  options o;
  o.run = mesh_bench::parse_options(argc, argv, usage_text, [&](std::string_view a, auto&& next) {
    if (a == "--no-baseline") {
      o.baseline = false;
    } else if (a == "--no-caf") {
      o.caf = false;
    } else if (a == "--caf-scheduler") {
      o.caf_scheduler = next();
      if (o.caf_scheduler != "stealing" && o.caf_scheduler != "sharing") mesh_bench::usage_exit(usage_text, 2);
    } else if (a == "--no-warmup") {
      o.warmup = false;
    } else if (a == "--case") {
      auto v = next();
      while (!v.empty()) {
        auto const c = v.find(',');
        o.only.emplace_back(v.substr(0, c));
        v = c == std::string_view::npos ? std::string_view{} : v.substr(c + 1);
      }
    } else {
      return false;
    }
    return true;
  });
  o.run.quick_defaults(1, mesh_bench::quick_duration_s);
  return o;
}

/// /proc/loadavg's first three fields: how busy the machine was (other processes skew figures).
std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto const c = line.find(':');
      return c == std::string::npos ? line : line.substr(line.find_first_not_of(' ', c + 1));
    }
  return "unknown";
}

int main(int argc, char** argv) {
  auto const opt = parse(argc, argv);
  sizes z;
  if (opt.run.quick) z = z.scaled(100);
  system const mesh = mesh_system(), inline_map = inline_map_system();
#ifdef MESH_BENCH_HAVE_CAF
  system const caf = caf_system(opt.caf_scheduler);
#define MESH_BENCH_CAF_RUN(fn) (caf.fn)
#else
#define MESH_BENCH_CAF_RUN(fn) (static_cast<run_fn>(nullptr))
#endif
  double const actor_size = static_cast<double>(sizeof(Counter));

  std::vector<workload> all = {
      {"activations",
       "activations created by one call_async each, sliding window of outstanding futures; rounds on a fresh node each",
       {{"activations_per_round", z.activations}, {"max_outstanding", z.activations_window}},
       mesh.activations,
       inline_map.activations,
       MESH_BENCH_CAF_RUN(activations),
       target{"activations_per_s", ">=", 1'000'000, ">= 1,000,000 activations/s"}},
      {"hot_actor",
       "call_async on one warm actor, sliding window of outstanding futures",
       {{"calls_per_round", z.hot_calls}, {"max_outstanding", z.hot_window}},
       mesh.hot_actor,
       inline_map.hot_actor,
       MESH_BENCH_CAF_RUN(hot_actor),
       std::nullopt},
      {"sequential",
       "blocking call from one thread on one warm actor, each call timed with steady_clock, percentiles over every call of the run (mesh runs an idle actor inline on the caller thread)",
       {{"calls_per_round", z.sequential_calls}, {"warmup_calls", z.sequential_warmup}},
       mesh.sequential,
       inline_map.sequential,
       MESH_BENCH_CAF_RUN(sequential),
       target{"p50_ns", "<", 5'000, "p50 < 5 us"}},
      {"throughput",
       "call_async round robin over warm actors, sliding window of outstanding futures",
       {{"calls_per_round", z.throughput_calls}, {"max_outstanding", z.throughput_window}, {"actors", z.throughput_actors}},
       mesh.throughput,
       inline_map.throughput,
       MESH_BENCH_CAF_RUN(throughput),
       target{"calls_per_s", ">=", 3'000'000, ">= 3,000,000 calls/s"}},
      {"memory",
       "RSS (and malloc heap) growth per idle activation, each created by one blocking call; count-based, not timed",
       {{"activations", z.memory_activations}},
       mesh.memory,
       inline_map.memory,
       MESH_BENCH_CAF_RUN(memory),
       target{"rss_bytes_per_activation", "<=", 512 + actor_size, "<= 512 bytes + sizeof(actor)"}},
  };

  for (auto const& c : opt.only)
    if (std::none_of(all.begin(), all.end(), [&](workload const& w) { return w.name == c; })) {
      std::fprintf(stderr, "mesh_bench_actor: unknown case '%s'\n", c.c_str());
      mesh_bench::usage_exit(usage_text, 2);
    }

  json_writer j;
  j.begin_object();
  j.field("benchmark", "actor").field("mesh_version", mesh::version_string);
  j.key("machine").begin_object();
  j.field("cores", static_cast<std::size_t>(std::thread::hardware_concurrency()));
  j.field("cpu", cpu_model());
  j.field("load_average_at_start", load_average());
  j.field("compiler", __VERSION__);
  j.field("build_type", MESH_BENCH_BUILD_TYPE);
  j.field("cxx_flags", MESH_BENCH_CXX_FLAGS);
#ifdef __OPTIMIZE__
  j.field("optimized", true);
#else
  j.field("optimized", false);
#endif
#ifdef NDEBUG
  j.field("ndebug", true);
#else
  j.field("ndebug", false);
#endif
  j.end_object();
  {
    j.key("config").begin_object();
    j.field("node", "node_config{.name = \"bench\", .workers = 0}").field("workers", mesh_workers());
    j.field("runs", static_cast<std::size_t>(opt.run.runs)).field("quick", opt.run.quick);
    j.field("duration_s", opt.run.duration_s);
    j.field("duration_rule", "timed cases (activations, hot_actor, sequential, throughput): every run of every backend "
                             "repeats the case's round until duration_s of wall-clock time have passed, at least one "
                             "whole round; rate = operations / time inside the rounds; memory is count-based");
    j.field("warmup", opt.warmup ? "one discarded round at 1/10 size before each case and backend" : "none");
    j.field("statistic", "median, min and max over runs; meets_target compares the median");
    j.field("baseline", opt.baseline ? "baseline_inline_map: the same Counter in a mutex-guarded std::unordered_map, "
                                       "handler run inline on the caller's thread, futures already complete"
                                     : "skipped");
    j.key("caf").begin_object();
    j.field("available", have_caf);
#ifdef MESH_BENCH_HAVE_CAF
    j.field("version", caf_version());
    j.field("ran", opt.caf);
    if (opt.caf) j.field("workers", caf_workers());
    j.field("scheduler_policy", opt.caf_scheduler);
    j.field("backend", "caf: C++ Actor Framework, one actor_system per run (scheduler.max-threads = hardware "
                       "concurrency, as mesh's workers); activation = id looked up in a mutex-guarded "
                       "std::unordered_map<std::string, caf::actor>, on a miss spawn<lazy_init> of a "
                       "stateful_actor running the same Counter; call = scoped_actor request(actor, infinite, "
                       "add_atom, int64) and receive; call_async keeps the response handle and get() receives it");
    j.field("differences",
            "CAF always runs the actor on a scheduler thread and wakes the caller's scoped_actor (mesh runs an idle "
            "actor inline on the caller thread); CAF requests carry no timeout while mesh calls carry a 5 s deadline; "
            "CAF's default 'stealing' scheduler polls with 50 us sleeps when idle, which dominates its sequential "
            "latency (--caf-scheduler sharing uses a condition variable instead)");
    j.field("note", opt.caf ? "ratio_mesh_to_caf = mesh median / caf median" : "skipped (--no-caf)");
#else
    j.field("note", "built without the C++ Actor Framework (libcaf-dev, CAF 0.17 not found at configure time): "
                    "every workload reports \"caf\": null");
#endif
    j.end_object();
    j.end_object();
  }
  j.key("sizes").begin_object();
  j.field("sizeof_actor", sizeof(Counter));
  j.field("sizeof_activation", mesh_sizeof_activation());
#ifdef MESH_BENCH_HAVE_CAF
  j.field("caf_sizeof_actor", caf_sizeof_actor());
#endif
  j.end_object();

  bool all_ok = true;
  j.key("workloads").begin_object();
  for (auto const& w : all) {
    if (!opt.only.empty() && std::find(opt.only.begin(), opt.only.end(), w.name) == opt.only.end()) continue;
    auto const m = repeat(w.name, mesh.label, w.mesh_run, z, opt.run.runs, opt.run.duration_s, opt.warmup);
    std::optional<backend_figures> base;
    if (opt.baseline)
      base = repeat(w.name, inline_map.label, w.baseline_run, z, opt.run.runs, opt.run.duration_s, opt.warmup);
    std::optional<backend_figures> peer;
    if (opt.caf && w.caf_run) peer = repeat(w.name, "caf", w.caf_run, z, opt.run.runs, opt.run.duration_s, opt.warmup);

    j.key(w.name).begin_object();
    j.field("what", w.what);
    j.key("params").begin_object();
    for (auto const& [k, v] : w.params) j.field(k, v);
    j.end_object();
    auto write_backend = [&](backend_figures const& f) {
      j.begin_object();
      for (std::size_t i = 0; i < f.names.size(); ++i) {
        j.key(f.names[i]);
        write_summary(j, f.summaries[i]);
      }
      if (f.work) {  // per run: what the duration bought
        j.field("duration_s", f.work->duration_s);
        j.key("rounds");
        write_list(j, f.work->rounds);
        j.key("operations");
        write_list(j, f.work->operations);
        j.key("timed_seconds");
        write_list(j, f.work->timed_seconds);
      }
      j.field("failed_calls", f.failed).field("checks_passed", f.verified);
      j.end_object();
    };
    j.key(mesh.label);
    write_backend(m);
    if (base) {
      j.key(inline_map.label);
      write_backend(*base);
      j.key("ratio_mesh_to_baseline").begin_object();
      for (std::size_t i = 0; i < m.names.size(); ++i)
        if (auto const* b = base->find(m.names[i])) j.field(m.names[i], m.summaries[i].median / b->median);
      j.end_object();
    }
    j.key("caf");
    if (peer) {
      write_backend(*peer);
      j.key("ratio_mesh_to_caf").begin_object();
      for (std::size_t i = 0; i < m.names.size(); ++i)
        if (auto const* c = peer->find(m.names[i])) j.field(m.names[i], m.summaries[i].median / c->median);
      j.end_object();
    } else {
      j.null();
      j.key("ratio_mesh_to_caf").null();
    }
    if (w.goal) {
      auto const* s = m.find(w.goal->metric);
      double const v = s ? s->median : NAN;
      bool const meets = m.failed == 0 && m.verified && std::isfinite(v) && w.goal->holds(v);
      j.key("target").begin_object();
      j.field("text", w.goal->text).field("metric", w.goal->metric).field("op", w.goal->op).field("value", w.goal->value);
      j.field("measured_median", v);
      j.end_object();
      j.field("meets_target", meets);
    } else {
      j.key("target").null();
      j.key("meets_target").null();
    }
    j.end_object();
    all_ok = all_ok && m.failed == 0 && m.verified && (!base || (base->failed == 0 && base->verified)) &&
             (!peer || (peer->failed == 0 && peer->verified));
  }
  j.end_object();
  j.field("load_average_at_end", load_average());
  j.field("all_calls_succeeded_and_checks_passed", all_ok);
  j.end_object();
  std::printf("%s\n", j.str().c_str());
  return all_ok ? 0 : 1;
}

}  // namespace bench

int main(int argc, char** argv) { return bench::main(argc, argv); }
