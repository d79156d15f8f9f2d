// shard_for (erlang:phash2 of the id's bytes, then mod range) against a baseline in the same
// process: std::hash<std::string_view> (libstdc++'s murmur-based hash), which is what a C++
// program would use if it did not need placement compatible with Elixir Mesh.
//
// For each id length (10, 32, 1000 bytes) the loop hashes a pool of 256 distinct random ids in
// turn, so neither the branch predictor nor the compiler sees one constant input. A run is
// calibrated to last ~100 ms; the figure reported is the median ns/hash over --runs runs.
// Output: one JSON object on stdout.
#include <mesh/cluster/shard.hpp>
#include <mesh/version.hpp>

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

// ns per hash over `iterations` hashes of the pool.
template <class H>
double time_run(std::vector<std::string> const& pool, std::uint64_t iterations) {
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
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(iterations);
}

template <class H>
std::uint64_t calibrate(std::vector<std::string> const& pool, double target_ns) {
  std::uint64_t n = 1000;
  while (true) {
    double const per = time_run<H>(pool, n);
    if (per * static_cast<double>(n) >= target_ns / 10 || n >= (std::uint64_t{1} << 34)) {
      double const want = target_ns / std::max(per, 0.01);
      return std::max<std::uint64_t>(1000, static_cast<std::uint64_t>(want));
    }
    n *= 4;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t const m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

struct measurement {
  double median_ns = 0, min_ns = 0, max_ns = 0;
  std::uint64_t iterations = 0;
};

template <class H>
measurement measure(std::vector<std::string> const& pool, int runs, double target_ns) {
  measurement m;
  m.iterations = calibrate<H>(pool, target_ns);
  std::vector<double> per;
  for (int r = 0; r < runs; ++r) per.push_back(time_run<H>(pool, m.iterations));
  m.median_ns = median(per);
  m.min_ns = *std::min_element(per.begin(), per.end());
  m.max_ns = *std::max_element(per.begin(), per.end());
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 7;
  double target_ns = 100e6;  // 100 ms per run
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--quick") == 0) {
      runs = 3;
      target_ns = 2e6;
    } else {
      std::fprintf(stderr, "usage: %s [--runs N] [--quick]\n", argv[0]);
      return 2;
    }
  }

  std::mt19937_64 rng(0x5eed5a4d);
  std::printf("{\n  \"benchmark\": \"shard_for\",\n  \"mesh_version\": \"%s\",\n", mesh::version_string);
  std::printf("  \"unit\": \"ns per hash (median of %d runs)\",\n  \"range\": 4096,\n  \"pool_ids\": 256,\n", runs);
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
    measurement const mesh_m = measure<hasher_mesh>(pool, runs, target_ns);
    measurement const base_m = measure<hasher_std>(pool, runs, target_ns);
    std::printf("    {\"id_bytes\": %zu, \"iterations\": %llu, \"mesh_ns\": %.3f, \"mesh_min_ns\": %.3f, "
                "\"mesh_max_ns\": %.3f, \"mesh_mb_per_s\": %.1f, \"baseline_ns\": %.3f, \"ratio_mesh_to_baseline\": %.3f}%s\n",
                len, static_cast<unsigned long long>(mesh_m.iterations), mesh_m.median_ns, mesh_m.min_ns, mesh_m.max_ns,
                static_cast<double>(len) * 1e3 / mesh_m.median_ns, base_m.median_ns, mesh_m.median_ns / base_m.median_ns,
                li + 1 < std::size(lengths) ? "," : "");
  }
  std::printf("  ]\n}\n");
  return 0;
}
