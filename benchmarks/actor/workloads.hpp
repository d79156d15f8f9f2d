// The actor scenario's workloads, templates over a backend B with one signature:
// call(id, n) -> bool ok; call_async(id, n) -> future_type; get(future_type&) -> bool ok;
// total(id) -> the counter's value (-1 on error); activations() -> live actors.
// Each system's file instantiates them with its backend (mesh.cpp, inline_map.cpp, caf.cpp), so
// the loops are compiled next to the calls they time.
#pragma once

#include "scenario.hpp"

#include <malloc.h>  // glibc: mallinfo2, malloc_trim
#include <unistd.h>  // sysconf

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using mesh_bench::round_result;
using mesh_bench::run_for;
using mesh_bench::seconds_since;
using mesh_bench::steady;

// ---- measurement helpers ----------------------------------------------------------------------

/// Resident set size in bytes (/proc/self/statm, second field).
inline std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

/// Bytes malloc has handed out and not taken back, over all arenas.
inline std::size_t heap_in_use() { return mallinfo2().uordblks; }

/// Gives freed memory back to the OS so the next RSS delta starts from a clean slate.
inline void release_memory() { ::malloc_trim(0); }

inline std::vector<std::string> make_ids(std::string_view prefix, std::size_t n) {
  std::vector<std::string> ids;
  ids.reserve(n);
  for (std::size_t i = 0; i < n; ++i) ids.push_back(std::string(prefix) + std::to_string(i));
  return ids;
}

/// `total` call_async's with at most `window` outstanding: a ring of futures, the oldest awaited
/// before its slot is reused. Returns the number of failed calls.
template <class B, class IdOf>
std::size_t windowed_calls(B& b, std::size_t total, std::size_t window, IdOf const& id_of) {
  std::vector<typename B::future_type> ring(window);
  std::size_t failed = 0;
  for (std::size_t i = 0; i < total; ++i) {
    auto& slot = ring[i % window];
    if (slot.valid() && !b.get(slot)) ++failed;
    slot = b.call_async(id_of(i), 1);
  }
  for (auto& f : ring)
    if (f.valid() && !b.get(f)) ++failed;
  return failed;
}

// Each timed workload takes the run's duration in seconds (0: one round, the warm-up).

template <class B>
run_result run_activations(sizes const& z, double duration_s) {
  auto const ids = make_ids("act-", z.activations);
  run_result r;
  // A fresh node per round: every round activates new actors into an empty node, as the Elixir
  // workload does, and memory stays bounded however long the run (fresh ids on one node would
  // grow it by ~200 bytes per activation and slow later rounds down).
  auto const t = run_for(duration_s, [&] {
    auto b = std::make_unique<B>();
    auto const t0 = steady::now();
    r.failed += windowed_calls(*b, z.activations, z.activations_window,
                               [&](std::size_t i) -> std::string_view { return ids[i]; });
    auto const dt = seconds_since(t0);
    r.verified = r.verified && b->activations() == z.activations;
    return round_result{z.activations, dt};  // the node's teardown is not timed
  });
  r.work = t;
  r.metrics = {{"activations_per_s", t.rate()}};
  return r;
}

template <class B>
run_result run_hot_actor(sizes const& z, double duration_s) {
  auto b = std::make_unique<B>();
  run_result r;
  if (!b->call("hot", 1)) ++r.failed;  // activate it: the measured calls hit a warm actor
  auto const t = run_for(duration_s, [&] {
    auto const t0 = steady::now();
    r.failed += windowed_calls(*b, z.hot_calls, z.hot_window, [](std::size_t) -> std::string_view { return "hot"; });
    return round_result{z.hot_calls, seconds_since(t0)};
  });
  r.verified = b->total("hot") == static_cast<long>(t.operations + 1);
  r.work = t;
  r.metrics = {{"calls_per_s", t.rate()}};
  return r;
}

template <class B>
run_result run_sequential(sizes const& z, double duration_s) {
  auto b = std::make_unique<B>();
  run_result r;
  for (std::size_t i = 0; i < z.sequential_warmup; ++i)
    if (!b->call("seq", 1)) ++r.failed;
  mesh_bench::latency_histogram lat;  // every call of the run, in bounded memory
  auto const t = run_for(duration_s, [&] {
    auto const t0 = steady::now();
    for (std::size_t i = 0; i < z.sequential_calls; ++i) {
      auto const a = steady::now();
      bool const ok = b->call("seq", 1);
      lat.record(std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - a).count());
      if (!ok) ++r.failed;
    }
    return round_result{z.sequential_calls, seconds_since(t0)};  // includes two clock reads per call
  });
  r.verified = b->total("seq") == static_cast<long>(z.sequential_warmup + t.operations);
  r.work = t;
  r.metrics = {{"calls_per_s", t.rate()},
               {"p50_ns", lat.quantile(0.50)},
               {"p99_ns", lat.quantile(0.99)},
               {"p999_ns", lat.quantile(0.999)},
               {"mean_ns", lat.mean()}};
  return r;
}

template <class B>
run_result run_throughput(sizes const& z, double duration_s) {
  auto const ids = make_ids("w-", z.throughput_actors);
  auto b = std::make_unique<B>();
  run_result r;
  for (auto const& id : ids)
    if (!b->call(id, 0)) ++r.failed;  // warm: every actor exists before the clock starts
  std::size_t next = 0;  // the round robin carries on across rounds
  auto const t = run_for(duration_s, [&] {
    auto const t0 = steady::now();
    r.failed += windowed_calls(*b, z.throughput_calls, z.throughput_window,
                               [&](std::size_t) -> std::string_view { return ids[next++ % ids.size()]; });
    return round_result{z.throughput_calls, seconds_since(t0)};
  });
  long sum = 0;
  for (auto const& id : ids) sum += b->total(id);
  r.verified = b->activations() == z.throughput_actors && sum == static_cast<long>(t.operations);
  r.work = t;
  r.metrics = {{"calls_per_s", t.rate()}};
  return r;
}

template <class B>
run_result run_memory(sizes const& z, double /*duration_s: count-based, not a rate*/) {
  auto const ids = make_ids("m", z.memory_activations);  // short ids: the activation's copy stays in SSO
  release_memory();
  auto b = std::make_unique<B>();
  run_result r;
  if (!b->call("warm", 1)) ++r.failed;  // first-use allocations (tables, caches) are not per activation
  release_memory();
  auto const rss0 = rss_bytes();
  auto const heap0 = heap_in_use();
  for (auto const& id : ids)
    if (!b->call(id, 1)) ++r.failed;
  auto const rss1 = rss_bytes();
  auto const heap1 = heap_in_use();
  r.verified = b->activations() == z.memory_activations + 1;
  auto const n = static_cast<double>(z.memory_activations);
  r.metrics = {{"rss_bytes_per_activation", (static_cast<double>(rss1) - static_cast<double>(rss0)) / n},
               {"heap_bytes_per_activation", (static_cast<double>(heap1) - static_cast<double>(heap0)) / n}};
  b.reset();
  release_memory();
  return r;
}

/// The five workloads on backend B.
template <class B>
system system_of() {
  return {B::label, &run_activations<B>, &run_hot_actor<B>, &run_sequential<B>, &run_throughput<B>, &run_memory<B>};
}

}  // namespace bench
