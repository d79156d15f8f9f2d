// The shard_for scenario's one signature: every hasher (mesh.cpp, std_hash.cpp) hashes the same
// pool of ids in the same timed loop, measure<H>() below, instantiated in the hasher's own file.
#pragma once

#include "../common/timed.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shard_bench {

// Keeps the compiler from discarding or hoisting a computed value.
template <class T>
inline void do_not_optimize(T const& v) {
  asm volatile("" : : "r,m"(v) : "memory");
}

using clock_type = std::chrono::steady_clock;

inline constexpr std::uint64_t round_hashes = 65'536;

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

/// A hasher under test: its name in the JSON and its runs over a pool (a power-of-two size).
struct system {
  char const* name;
  measurement (*measure)(std::vector<std::string> const& pool, int runs, double duration_s);
};

/// mesh.cpp: mesh::shard_for(id, 4096).
system mesh_system();
/// std_hash.cpp: std::hash<std::string_view> % 4096, the baseline.
system std_hash_system();

}  // namespace shard_bench
