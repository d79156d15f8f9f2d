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
//   mesh_bench_actor [--runs N] [--duration SECONDS] [--quick] [--case NAME[,NAME...]]
//                    [--no-baseline] [--no-caf] [--caf-scheduler stealing|sharing] [--no-warmup]

#include <mesh/mesh.hpp>

#include "../common/timed.hpp"

#ifdef MESH_BENCH_HAVE_CAF
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#endif

#include <malloc.h>  // glibc: mallinfo2, malloc_trim
#include <unistd.h>  // sysconf

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#ifndef MESH_BENCH_BUILD_TYPE
#define MESH_BENCH_BUILD_TYPE "unknown (built without CMake)"
#endif
#ifndef MESH_BENCH_CXX_FLAGS
#define MESH_BENCH_CXX_FLAGS ""
#endif

namespace bench {

// ---- the actor under test ---------------------------------------------------------------------

struct counters : mesh::capability<"counters"> {};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return total += a.n; }
  long handle(Get const&) { return total; }
  long total = 0;
};
using app = mesh::schema<Counter>;

using mesh_bench::round_result;
using mesh_bench::run_for;
using mesh_bench::seconds_since;
using mesh_bench::steady;

// ---- the two backends, one signature ----------------------------------------------------------
// call(id, n) -> bool ok; call_async(id, n) -> future_type; get(future_type&) -> bool ok;
// total(id) -> the counter's value (-1 on error); activations() -> live actors.

/// The runtime under test: node_config{.name = "bench", .workers = 0 (hardware concurrency)}.
class mesh_backend {
 public:
  static constexpr std::string_view label = "mesh";
  using future_type = mesh::future<long>;

  mesh_backend() : node_(make_config()) { node_.register_capabilities<counters>(); }

  bool call(std::string_view id, long n) {
    auto r = node_.call<Counter>(id, Add{n});
    if (!r) note_error(r.error().message);
    return r.has_value();
  }
  future_type call_async(std::string_view id, long n) { return node_.call_async<Counter>(id, Add{n}); }
  bool get(future_type& f) {
    auto r = f.get();
    if (!r) note_error(r.error().message);
    return r.has_value();
  }
  long total(std::string_view id) {
    auto r = node_.call<Counter>(id, Get{});
    return r ? r->value : -1;
  }
  std::size_t activations() const { return node_.activation_count<Counter>(); }
  std::size_t workers() const { return node_.config().workers; }

 private:
  static mesh::node_config make_config() {
    mesh::node_config c;
    c.name = "bench";
    c.workers = 0;  // std::thread::hardware_concurrency()
    return c;
  }
  static void note_error(std::string const& what) {
    static std::once_flag once;
    std::call_once(once, [&] { std::fprintf(stderr, "[bench] first failed call: %s\n", what.c_str()); });
  }
  mesh::node<app> node_;
};

/// Baseline: the same Counter in a std::unordered_map guarded by one mutex, its handler run inline
/// on the caller's thread; call_async returns an already-completed future.
class inline_map_backend {
 public:
  static constexpr std::string_view label = "baseline_inline_map";
  struct future_type {
    bool ok = false;
    bool has = false;
    bool valid() const noexcept { return has; }
  };

  bool call(std::string_view id, long n) {
    std::lock_guard lk(m_);
    sink_ += find_or_create(id).handle(Add{n});
    return true;
  }
  future_type call_async(std::string_view id, long n) { return {call(id, n), true}; }
  bool get(future_type& f) {
    f.has = false;
    return f.ok;
  }
  long total(std::string_view id) {
    std::lock_guard lk(m_);
    auto it = map_.find(id);
    return it == map_.end() ? -1 : it->second.total;
  }
  std::size_t activations() const {
    std::lock_guard lk(m_);
    return map_.size();
  }
  std::size_t workers() const { return 1; }
  long sink() const { return sink_; }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  Counter& find_or_create(std::string_view id) {
    auto it = map_.find(id);
    if (it == map_.end()) it = map_.try_emplace(std::string(id), id).first;
    return it->second;
  }
  mutable std::mutex m_;
  std::unordered_map<std::string, Counter, string_hash, std::equal_to<>> map_;
  long sink_ = 0;
};

/// CAF's scheduler policy for the caf backend ("stealing": CAF's default; "sharing"; --caf-scheduler).
std::string caf_scheduler = "stealing";

#ifdef MESH_BENCH_HAVE_CAF
/// Peer baseline: the C++ Actor Framework 0.17. One caf::actor_system per run with as many
/// scheduler threads as mesh has workers. An "activation" is what mesh does for a virtual actor,
/// by hand: look the id up in a mutex-guarded hash map and, on a miss, spawn a stateful actor that
/// runs the same Counter (lazy_init: it is first scheduled by its first message). Calls are CAF
/// request/response from one scoped_actor (a blocking actor owned by the calling thread): call()
/// is request(...).receive(...); call_async() sends the request and keeps its response handle,
/// get() receives that response. Requests carry no timeout (caf::infinite: no timer per request).
class caf_backend {
 public:
  static constexpr std::string_view label = "caf";
  using add_atom = caf::atom_constant<caf::atom("add")>;
  using get_atom = caf::atom_constant<caf::atom("get")>;
  struct counter_state {
    Counter counter{std::string_view{}};
  };
  using counter_actor = caf::stateful_actor<counter_state>;
  using handle_type = decltype(std::declval<caf::scoped_actor&>()->request(
      std::declval<caf::actor const&>(), caf::infinite, add_atom::value, std::int64_t{}));
  struct future_type {
    std::optional<handle_type> h;
    bool valid() const noexcept { return h.has_value(); }
  };

  caf_backend() : sys_(config_), self_(sys_) {}
  ~caf_backend() {
    for (auto& [id, a] : actors_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors_.clear();
  }

  bool call(std::string_view id, long n) {
    future_type f = call_async(id, n);
    return get(f);
  }
  future_type call_async(std::string_view id, long n) {
    return {self_->request(find_or_spawn(id), caf::infinite, add_atom::value, std::int64_t{n})};
  }
  bool get(future_type& f) {
    bool ok = false;
    f.h->receive([&](std::int64_t) { ok = true; }, [&](caf::error& e) { note_error(sys_.render(e)); });
    f.h.reset();
    return ok;
  }
  long total(std::string_view id) {
    caf::actor a;
    {
      std::lock_guard lk(m_);
      auto it = actors_.find(id);
      if (it == actors_.end()) return -1;
      a = it->second;
    }
    long v = -1;
    self_->request(a, caf::infinite, get_atom::value).receive([&](std::int64_t t) { v = static_cast<long>(t); },
                                                               [&](caf::error& e) { note_error(sys_.render(e)); });
    return v;
  }
  std::size_t activations() const {
    std::lock_guard lk(m_);
    return actors_.size();
  }
  std::size_t workers() { return sys_.scheduler().num_workers(); }

 private:
  static caf::behavior counter_behavior(counter_actor* self) {
    return {
        [self](add_atom, std::int64_t n) -> std::int64_t { return self->state.counter.handle(Add{n}); },
        [self](get_atom) -> std::int64_t { return self->state.counter.handle(Get{}); },
    };
  }
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.max-threads", static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
      set("scheduler.policy", caf_scheduler == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
    }
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  caf::actor const& find_or_spawn(std::string_view id) {
    std::lock_guard lk(m_);
    auto it = actors_.find(id);
    if (it == actors_.end()) it = actors_.try_emplace(std::string(id), sys_.spawn<caf::lazy_init>(counter_behavior)).first;
    return it->second;  // stays valid: entries are only erased by the destructor
  }
  static void note_error(std::string const& what) {
    static std::once_flag once;
    std::call_once(once, [&] { std::fprintf(stderr, "[bench] caf: first failed call: %s\n", what.c_str()); });
  }
  config config_;
  caf::actor_system sys_;
  caf::scoped_actor self_;
  mutable std::mutex m_;
  std::unordered_map<std::string, caf::actor, string_hash, std::equal_to<>> actors_;
};
#endif

// ---- measurement helpers ----------------------------------------------------------------------

using summary = mesh_bench::stats;
using mesh_bench::summarize;

/// Resident set size in bytes (/proc/self/statm, second field).
std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

/// Bytes malloc has handed out and not taken back, over all arenas.
std::size_t heap_in_use() { return mallinfo2().uordblks; }

/// Gives freed memory back to the OS so the next RSS delta starts from a clean slate.
void release_memory() { ::malloc_trim(0); }

std::vector<std::string> make_ids(std::string_view prefix, std::size_t n) {
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

// ---- workloads --------------------------------------------------------------------------------

struct sizes {
  std::size_t activations = 50'000, activations_window = 500;
  std::size_t hot_calls = 10'000, hot_window = 200;
  std::size_t sequential_calls = 200'000, sequential_warmup = 1'000;
  // Elixir Mesh fixes only the window and the actor count here; a round is 100 calls per actor,
  // short enough that the duration, not the round, sets how long a run takes.
  std::size_t throughput_calls = 100'000, throughput_window = 256, throughput_actors = 1'000;
  std::size_t memory_activations = 100'000;

  /// Every count divided by k (at least 1); windows unchanged.
  sizes scaled(std::size_t k) const {
    sizes z = *this;
    for (auto* n : {&z.activations, &z.hot_calls, &z.sequential_calls, &z.sequential_warmup, &z.throughput_calls,
                    &z.throughput_actors, &z.memory_activations})
      *n = std::max<std::size_t>(1, *n / k);
    return z;
  }
};

/// What one run of one workload measured.
struct run_result {
  std::vector<std::pair<std::string, double>> metrics;  // name -> value, in a fixed order
  std::size_t failed = 0;
  bool verified = true;                      // the sanity check of every round held
  std::optional<mesh_bench::timed_totals> work;  // timed cases: rounds, operations, seconds
};

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

// ---- JSON -------------------------------------------------------------------------------------

/// A minimal streaming JSON writer (objects, arrays, numbers, strings, booleans, null).
class json_writer {
 public:
  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  /// An array written on one line (for short lists of numbers).
  json_writer& begin_inline_array() {
    open('[');
    inline_depth_ = first_.size();
    return *this;
  }
  json_writer& end_array() { return close(']'); }
  json_writer& key(std::string_view k) {
    separate();
    string_literal(k);
    out_ += ": ";
    after_key_ = true;
    return *this;
  }
  json_writer& value(std::string_view s) {
    separate();
    string_literal(s);
    return *this;
  }
  json_writer& value(char const* s) { return value(std::string_view(s)); }
  json_writer& value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
  }
  json_writer& value(std::size_t n) {
    separate();
    out_ += std::to_string(n);
    return *this;
  }
  json_writer& value(double d) {
    separate();
    out_ += mesh_bench::json_number(d);  // null when not finite; 1234567.891, 412, 0.125
    return *this;
  }
  json_writer& null() {
    separate();
    out_ += "null";
    return *this;
  }
  template <class T>
  json_writer& field(std::string_view k, T const& v) {
    key(k);
    return value(v);
  }
  std::string const& str() const noexcept { return out_; }

 private:
  json_writer& open(char c) {
    separate();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  json_writer& close(char c) {
    bool const empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_ += c;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
    newline();
  }
  void newline() {
    if (inline_depth_ != 0) {  // inside an inline array, or closing it
      if (first_.size() < inline_depth_) inline_depth_ = 0;
      out_ += ' ';
      return;
    }
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }
  void string_literal(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out_ += buf;
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }
  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
  std::size_t inline_depth_ = 0;  // depth of the open inline array (0: none)
};

void write_list(json_writer& j, std::vector<double> const& v) {
  j.begin_inline_array();
  for (double x : v) j.value(x);
  j.end_array();
}

void write_summary(json_writer& j, summary const& s) {
  j.begin_object().field("median", s.median).field("min", s.min).field("max", s.max).key("runs");
  write_list(j, s.runs);
  j.end_object();
}

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

using run_fn = run_result (*)(sizes const&, double duration_s);

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
#define MESH_BENCH_CAF_RUN(fn) (&fn<caf_backend>)
#else
constexpr bool have_caf = false;
#define MESH_BENCH_CAF_RUN(fn) (static_cast<run_fn>(nullptr))
#endif

struct options {
  int runs = 5;
  double duration_s = mesh_bench::default_duration_s;  // per timed case, run and backend
  bool quick = false;
  bool baseline = true;
  bool caf = true;
  bool warmup = true;
  std::string caf_scheduler = "stealing";
  std::vector<std::string> only;  // empty: every workload
};

[[noreturn]] void usage(int status) {
  std::fprintf(status ? stderr : stdout,
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
               "  --no-warmup   skip the discarded warm-up round (1/10 size) before each case\n");
  std::exit(status);
}

options parse(int argc, char** argv) {
  options o;
  bool runs_given = false, duration_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string_view {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--runs") {
      auto v = next();
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.runs);
      if (ec != std::errc{} || p != v.data() + v.size() || o.runs < 1) usage(2);
      runs_given = true;
    } else if (a == "--duration") {
      auto const d = mesh_bench::parse_seconds(next());
      if (!d) usage(2);
      o.duration_s = *d;
      duration_given = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--no-baseline") {
      o.baseline = false;
    } else if (a == "--no-caf") {
      o.caf = false;
    } else if (a == "--caf-scheduler") {
      o.caf_scheduler = next();
      if (o.caf_scheduler != "stealing" && o.caf_scheduler != "sharing") usage(2);
    } else if (a == "--no-warmup") {
      o.warmup = false;
    } else if (a == "--case") {
      auto v = next();
      while (!v.empty()) {
        auto const c = v.find(',');
        o.only.emplace_back(v.substr(0, c));
        v = c == std::string_view::npos ? std::string_view{} : v.substr(c + 1);
      }
    } else if (a == "--help" || a == "-h") {
      usage(0);
    } else {
      usage(2);
    }
  }
  if (o.quick && !runs_given) o.runs = 1;
  if (o.quick && !duration_given) o.duration_s = mesh_bench::quick_duration_s;
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
  caf_scheduler = opt.caf_scheduler;
  sizes z;
  if (opt.quick) z = z.scaled(100);
  double const actor_size = static_cast<double>(sizeof(Counter));

  std::vector<workload> all = {
      {"activations",
       "activations created by one call_async each, sliding window of outstanding futures; rounds on a fresh node each",
       {{"activations_per_round", z.activations}, {"max_outstanding", z.activations_window}},
       &run_activations<mesh_backend>,
       &run_activations<inline_map_backend>,
       MESH_BENCH_CAF_RUN(run_activations),
       target{"activations_per_s", ">=", 1'000'000, ">= 1,000,000 activations/s"}},
      {"hot_actor",
       "call_async on one warm actor, sliding window of outstanding futures",
       {{"calls_per_round", z.hot_calls}, {"max_outstanding", z.hot_window}},
       &run_hot_actor<mesh_backend>,
       &run_hot_actor<inline_map_backend>,
       MESH_BENCH_CAF_RUN(run_hot_actor),
       std::nullopt},
      {"sequential",
       "blocking call from one thread on one warm actor, each call timed with steady_clock, percentiles over every call of the run (mesh runs an idle actor inline on the caller thread)",
       {{"calls_per_round", z.sequential_calls}, {"warmup_calls", z.sequential_warmup}},
       &run_sequential<mesh_backend>,
       &run_sequential<inline_map_backend>,
       MESH_BENCH_CAF_RUN(run_sequential),
       target{"p50_ns", "<", 5'000, "p50 < 5 us"}},
      {"throughput",
       "call_async round robin over warm actors, sliding window of outstanding futures",
       {{"calls_per_round", z.throughput_calls}, {"max_outstanding", z.throughput_window}, {"actors", z.throughput_actors}},
       &run_throughput<mesh_backend>,
       &run_throughput<inline_map_backend>,
       MESH_BENCH_CAF_RUN(run_throughput),
       target{"calls_per_s", ">=", 3'000'000, ">= 3,000,000 calls/s"}},
      {"memory",
       "RSS (and malloc heap) growth per idle activation, each created by one blocking call; count-based, not timed",
       {{"activations", z.memory_activations}},
       &run_memory<mesh_backend>,
       &run_memory<inline_map_backend>,
       MESH_BENCH_CAF_RUN(run_memory),
       target{"rss_bytes_per_activation", "<=", 512 + actor_size, "<= 512 bytes + sizeof(actor)"}},
  };

  for (auto const& c : opt.only)
    if (std::none_of(all.begin(), all.end(), [&](workload const& w) { return w.name == c; })) {
      std::fprintf(stderr, "mesh_bench_actor: unknown case '%s'\n", c.c_str());
      usage(2);
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
    mesh_backend probe;
    j.key("config").begin_object();
    j.field("node", "node_config{.name = \"bench\", .workers = 0}").field("workers", probe.workers());
    j.field("runs", static_cast<std::size_t>(opt.runs)).field("quick", opt.quick);
    j.field("duration_s", opt.duration_s);
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
    j.field("version", std::to_string(CAF_MAJOR_VERSION) + "." + std::to_string(CAF_MINOR_VERSION) + "." +
                           std::to_string(CAF_PATCH_VERSION));
    j.field("ran", opt.caf);
    if (opt.caf) {
      caf_backend caf_probe;
      j.field("workers", caf_probe.workers());
    }
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
  j.field("sizeof_activation", sizeof(mesh::detail::activation<Counter>));
#ifdef MESH_BENCH_HAVE_CAF
  j.field("caf_sizeof_actor", sizeof(caf_backend::counter_actor));
#endif
  j.end_object();

  bool all_ok = true;
  j.key("workloads").begin_object();
  for (auto const& w : all) {
    if (!opt.only.empty() && std::find(opt.only.begin(), opt.only.end(), w.name) == opt.only.end()) continue;
    auto const m = repeat(w.name, mesh_backend::label, w.mesh_run, z, opt.runs, opt.duration_s, opt.warmup);
    std::optional<backend_figures> base;
    if (opt.baseline)
      base = repeat(w.name, inline_map_backend::label, w.baseline_run, z, opt.runs, opt.duration_s, opt.warmup);
    std::optional<backend_figures> peer;
    if (opt.caf && w.caf_run) peer = repeat(w.name, "caf", w.caf_run, z, opt.runs, opt.duration_s, opt.warmup);

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
    j.key(mesh_backend::label);
    write_backend(m);
    if (base) {
      j.key(inline_map_backend::label);
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
