// shard_for (erlang:phash2 of the id's bytes, then mod range) against a baseline in the same
// process: std::hash<std::string_view> (libstdc++'s murmur-based hash), which is what a C++
// program would use if it did not need placement compatible with Elixir Mesh.
//
// For each id length (10, 32, 1000 bytes) the loop hashes a pool of 256 distinct random ids in
// turn, so neither the branch predictor nor the compiler sees one constant input. A run repeats
// rounds of 65,536 hashes (256 passes over the pool; the clock is read per round, not per hash)
// until --duration seconds (default 2; 0.02 with --quick) have passed, at least one round, for
// each hasher alike (benchmarks/common/timed.hpp); the figure reported is the median ns/hash over
// --runs runs. Output: one JSON object on stdout.
//   mesh_bench_shard [--runs N] [--duration SECONDS] [--quick]
#include <mesh/cluster/shard.hpp>
#include <mesh/version.hpp>

#include "../common/timed.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Keeps the compiler from discarding or hoisting a computed value.
template <class T>
inline void do_not_optimize(T const& v) {
  asm volatile("" : : "r,m"(v) : "memory");
}

using clock_type = std::chrono::steady_clock;

struct hasher_mesh {
  static constexpr char const* name = "mesh::shard_for";
  std::uint32_t operator()(std::string_view id) const noexcept { return mesh::shard_for(id, 4096); }
};
struct hasher_std {
  static constexpr char const* name = "std::hash<std::string_view> % 4096";
  std::uint32_t operator()(std::string_view id) const noexcept {
    return static_cast<std::uint32_t>(std::hash<std::string_view>{}(id) % 4096);
  }
};

constexpr std::uint64_t round_hashes = 65'536;

// Seconds to hash the pool in turn, `iterations` hashes.
template <class H>
double time_round(std::vector<std::string> const& pool, std::uint64_t iterations) {
  H const h;
  std::uint32_t acc = 0;
  std::size_t const mask = pool.size() - 1;
  auto const t0 = clock_type::now();
  for (std::uint64_t i = 0; i < iterations; ++i) {
    std::string const& id = pool[i & mask];
    char const* p = id.data();
    do_not_optimize(p);
    acc += h(std::string_view(p, id.size()));
  }
  auto const t1 = clock_type::now();
  do_not_optimize(acc);
  return std::chrono::duration<double>(t1 - t0).count();
}

struct measurement {
  double median_ns = 0, min_ns = 0, max_ns = 0;
  mesh_bench::work_log work;  // per run: rounds, hashes, seconds
};

template <class H>
measurement measure(std::vector<std::string> const& pool, int runs, double duration_s) {
  measurement m;
  m.work.duration_s = duration_s;
  std::vector<double> per;
  for (int r = 0; r < runs; ++r) {
    auto const t = mesh_bench::run_for(duration_s, [&] {
      return mesh_bench::round_result{round_hashes, time_round<H>(pool, round_hashes)};
    });
    per.push_back(t.seconds * 1e9 / static_cast<double>(t.operations));
    m.work.add(t);
  }
  auto const s = mesh_bench::summarize(std::move(per));
  m.median_ns = s.median;
  m.min_ns = s.min;
  m.max_ns = s.max;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  double duration_s = mesh_bench::default_duration_s;  // per run, id length and hasher
  bool runs_given = false, duration_given = false, quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
      runs_given = true;
    } else if (std::strcmp(argv[i], "--duration") == 0 && i + 1 < argc && mesh_bench::parse_seconds(argv[i + 1])) {
      duration_s = *mesh_bench::parse_seconds(argv[++i]);
      duration_given = true;
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--runs N] [--duration SECONDS] [--quick]\n", argv[0]);
      return 2;
    }
  }
  if (quick && !runs_given) runs = 3;
  if (quick && !duration_given) duration_s = 0.02;  // a smoke run: milliseconds suffice for a hash

  std::mt19937_64 rng(0x5eed5a4d);
  std::printf("{\n  \"benchmark\": \"shard_for\",\n  \"mesh_version\": \"%s\",\n", mesh::version_string);
  std::printf("  \"unit\": \"ns per hash (median of %d runs)\",\n  \"range\": 4096,\n  \"pool_ids\": 256,\n", runs);
  std::printf("  \"runs\": %d,\n  \"duration_s\": %s,\n  \"hashes_per_round\": %llu,\n", runs,
              mesh_bench::json_number(duration_s).c_str(), static_cast<unsigned long long>(round_hashes));
#ifdef NDEBUG
  std::printf("  \"ndebug\": true,\n");
#else
  std::printf("  \"ndebug\": false,\n");
#endif
  std::printf("  \"baseline\": \"%s\",\n  \"results\": [\n", hasher_std::name);
  std::size_t const lengths[] = {10, 32, 1000};
  for (std::size_t li = 0; li < std::size(lengths); ++li) {
    std::size_t const len = lengths[li];
    std::vector<std::string> pool(256);
    for (auto& id : pool) {
      id.resize(len);
      for (auto& c : id) c = static_cast<char>('a' + rng() % 26);
    }
    measurement const mesh_m = measure<hasher_mesh>(pool, runs, duration_s);
    measurement const base_m = measure<hasher_std>(pool, runs, duration_s);
    std::printf("    {\"id_bytes\": %zu, \"mesh_ns\": %.3f, \"mesh_min_ns\": %.3f, \"mesh_max_ns\": %.3f, "
                "\"mesh_mb_per_s\": %.1f, \"baseline_ns\": %.3f, \"ratio_mesh_to_baseline\": %.3f,\n"
                "     \"mesh_work\": {%s},\n     \"baseline_work\": {%s}}%s\n",
                len, mesh_m.median_ns, mesh_m.min_ns, mesh_m.max_ns, static_cast<double>(len) * 1e3 / mesh_m.median_ns,
                base_m.median_ns, mesh_m.median_ns / base_m.median_ns, mesh_m.work.json_fields().c_str(),
                base_m.work.json_fields().c_str(), li + 1 < std::size(lengths) ? "," : "");
  }
  std::printf("  ]\n}\n");
  return 0;
}
