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
// This file is the driver; one file per hasher behind scenario.hpp's signature: mesh.cpp, std_hash.cpp.
#include <mesh/version.hpp>

#include "../common/options.hpp"
#include "../common/timed.hpp"
#include "scenario.hpp"

#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace shard_bench {

int main(int argc, char** argv) {
  auto opt = mesh_bench::parse_options(argc, argv, "usage: mesh_bench_shard [--runs N] [--duration SECONDS] [--quick]\n");
  opt.quick_defaults(3, 0.02);  // a smoke run: milliseconds suffice for a hash
  int const runs = opt.runs;
  double const duration_s = opt.duration_s;  // per run, id length and hasher
  system const mesh_h = mesh_system(), std_h = std_hash_system();

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
  std::printf("  \"baseline\": \"%s\",\n  \"results\": [\n", std_h.name);
  std::size_t const lengths[] = {10, 32, 1000};
  for (std::size_t li = 0; li < std::size(lengths); ++li) {
    std::size_t const len = lengths[li];
    std::vector<std::string> pool(256);
    for (auto& id : pool) {
      id.resize(len);
      for (auto& c : id) c = static_cast<char>('a' + rng() % 26);
    }
    measurement const mesh_m = mesh_h.measure(pool, runs, duration_s);
    measurement const base_m = std_h.measure(pool, runs, duration_s);
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

}  // namespace shard_bench

int main(int argc, char** argv) { return shard_bench::main(argc, argv); }
