#pragma once
/// mesh::node_metrics (what node::metrics() returns) and detail::metrics_registry, the per-thread
/// counters behind it: a thread counts into a block of its own (no locked instruction, no shared
/// cache line), and a read sums the blocks.

#include <mesh/core/clock.hpp>
#include <mesh/core/error.hpp>

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mesh {

/// Call durations in fixed logarithmic buckets: bucket i counts calls of at most 2^i µs
/// (1 µs .. 8.4 s); the last one counts the slower ones (Prometheus' `+Inf`).
struct latency_histogram {
  static constexpr std::size_t bucket_count = 24;
  /// Upper bound of bucket i (i < bucket_count), in seconds.
  static constexpr double upper_bound_seconds(std::size_t i) noexcept {
    return 1e-6 * static_cast<double>(std::uint64_t{1} << i);
  }
  std::array<std::uint64_t, bucket_count + 1> buckets{};  ///< per bucket, not cumulative
  std::uint64_t count = 0;                                ///< observations (sum of buckets)
  double sum_seconds = 0;                                 ///< total time observed
};

/// Figures of one actor type on one node.
struct actor_metrics {
  std::string actor;       ///< actor type name
  std::string capability;  ///< its capability
  /// Calls this node made to the actor (on any node), by outcome: index = errc value, errc::ok
  /// for a reply. Casts are not calls.
  std::array<std::uint64_t, 32> calls{};
  /// Durations of calls handled on this node (every 64th call is timed: a local call takes about
  /// 100 ns, and timing each would cost a quarter of it) and of calls sent to another node (all).
  latency_histogram local_latency, remote_latency;
  std::size_t activations = 0;    ///< live activations on this node
  std::size_t mailbox_depth = 0;  ///< messages queued in their mailboxes
  std::uint64_t calls_total() const noexcept {
    std::uint64_t n = 0;
    for (auto c : calls) n += c;
    return n;
  }
  std::uint64_t calls_with(errc outcome) const noexcept {
    auto const i = static_cast<std::size_t>(outcome);
    return i < calls.size() ? calls[i] : 0;
  }
};

/// A call that failed, as kept in node_metrics::recent_errors.
struct call_error {
  std::chrono::system_clock::time_point at;
  std::string actor;
  mesh::error error;
};

/// A node's figures at one moment (node::metrics()). Counters are monotonic from the node's start.
struct node_metrics {
  std::string node;
  std::vector<actor_metrics> actors;  ///< in schema order
  std::size_t members = 0;            ///< cluster members this node sees, itself included
  std::uint64_t rebalances = 0;       ///< membership changes after which this node re-checked its activations' owners
  std::uint64_t handoffs = 0;         ///< activations deactivated because their shard moved to another node (those with a `state` sent to it)
  std::uint64_t handoffs_in = 0;      ///< activations made here from state handed off by another node
  // Transport (zero for a single-process node).
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t bad_frames = 0;     ///< undecodable frames dropped
  std::uint64_t refused_peers = 0;  ///< heartbeats or connections refused
  std::uint64_t send_failures = 0;  ///< frames not sent (peer gone, queue full)
  std::uint64_t cast_drops = 0;     ///< casts that could not be delivered
  std::vector<call_error> recent_errors;  ///< the last failed calls, oldest first (at most 64)
};

namespace detail {

/// A counter with one writer (relaxed load + store: no locked instruction) and any readers.
struct owned_counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n = 1) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

struct latency_counts {
  owned_counter buckets[latency_histogram::bucket_count + 1];
  owned_counter sum_ns;
  void observe(clock::duration d) noexcept {
    auto const ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
    auto const us = (ns + 999) / 1000;  // rounded up: bucket i holds durations <= 2^i µs
    std::size_t const i = us <= 1 ? 0 : static_cast<std::size_t>(std::bit_width(us - 1));
    buckets[i < latency_histogram::bucket_count ? i : latency_histogram::bucket_count].add();
    sum_ns.add(ns);
  }
  void add_to(latency_histogram& h) const noexcept {
    for (std::size_t i = 0; i <= latency_histogram::bucket_count; ++i) {
      auto const n = buckets[i].get();
      h.buckets[i] += n;
      h.count += n;
    }
    h.sum_seconds += static_cast<double>(sum_ns.get()) * 1e-9;
  }
};

struct actor_counts {
  owned_counter calls[32];
  latency_counts local, remote;
};

/// One thread's counters for one node. Cache-line aligned: two threads never write one line.
struct alignas(64) thread_counts {
  explicit thread_counts(std::size_t n) : actors(new actor_counts[n]), actor_count(n) {}
  std::unique_ptr<actor_counts[]> actors;
  std::size_t actor_count;
  bool in_use = true;  // a thread writes it (guarded by metrics_shared::m)
};

/// The blocks of one node, kept alive by the node and by every thread that cached one of them.
struct metrics_shared {
  std::mutex m;
  std::vector<std::unique_ptr<thread_counts>> blocks;
  std::size_t actor_count = 0;
  void release(thread_counts* b) noexcept {
    std::lock_guard lk(m);
    b->in_use = false;  // a later thread continues counting in it
  }
};

/// Local calls timed: one in this many (a power of two), see actor_metrics.
inline constexpr std::uint32_t local_timing_period = 64;

/// A thread's cache of its blocks for the last nodes it counted for (plain data: the hot path
/// reads it with no initialization guard).
struct metrics_cache_entry {
  metrics_shared const* key = nullptr;
  thread_counts* block = nullptr;
};
inline constexpr std::size_t metrics_cache_size = 4;
constinit inline thread_local metrics_cache_entry metrics_cache[metrics_cache_size]{};
constinit inline thread_local std::uint32_t metrics_sample_tick = 0;

/// Holds the blocks a thread cached and gives them back when the thread ends.
struct metrics_cache_owner {
  std::shared_ptr<metrics_shared> held[metrics_cache_size];
  std::size_t next_evict = 0;
  ~metrics_cache_owner() {
    for (std::size_t i = 0; i < metrics_cache_size; ++i)
      if (held[i]) held[i]->release(metrics_cache[i].block);
  }
};

/// Start time of a call to time, or time_point{} (not timed): every remote call, and one local
/// call in local_timing_period (decided before routing: the caller does not know yet).
inline clock::time_point sample_start() noexcept {
  return (++metrics_sample_tick & (local_timing_period - 1)) == 0 ? clock::now() : clock::time_point{};
}

/// A node's call counters. Thread-safe; record() takes no lock.
class metrics_registry {
 public:
  static constexpr std::size_t npos = ~std::size_t{0};
  static constexpr std::size_t max_recent_errors = 64;

  explicit metrics_registry(bool enabled) : enabled_(enabled) {}

  bool enabled() const noexcept { return enabled_; }

  /// Adds an actor type (before the node takes calls); its index is the order of the calls.
  void add_actor(std::string_view name, std::string_view capability) {
    names_.push_back(name);
    capabilities_.push_back(capability);
    shared_->actor_count = names_.size();
  }
  std::size_t actor_count() const noexcept { return names_.size(); }
  std::string_view actor_name(std::size_t i) const noexcept { return names_[i]; }
  std::string_view actor_capability(std::size_t i) const noexcept { return capabilities_[i]; }

  /// Index of actor `name`, or npos. A schema's names are static strings: the pointer usually matches.
  std::size_t index_of(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i].data() == name.data()) return i;
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return i;
    return npos;
  }

  /// Counts one call of actor `i` with `outcome`, and its duration when `start` is set.
  void record(std::size_t i, bool remote, errc outcome, clock::time_point start) noexcept {
    if (!enabled_ || i >= names_.size()) return;
    auto* b = mine();
    if (!b || i >= b->actor_count) return;
    auto& a = b->actors[i];
    auto const slot = static_cast<std::size_t>(outcome);
    a.calls[slot < 32 ? slot : 31].add();
    if (start != clock::time_point{}) (remote ? a.remote : a.local).observe(clock::now() - start);
  }
  /// record() for a failed call, which is also kept among the recent errors.
  void record_error(std::size_t i, bool remote, error const& e, clock::time_point start) noexcept {
    record(i, remote, e.code, start);
    if (enabled_ && i < names_.size()) note_error(names_[i], e);
  }

  /// Keeps `e` among the recent errors; skipped (not waited for) when another thread is at it.
  void note_error(std::string_view actor, error const& e) noexcept {
    std::unique_lock lk(errors_m_, std::try_to_lock);
    if (!lk) return;
    try {
      if (errors_.size() == max_recent_errors) errors_.pop_front();
      errors_.push_back(call_error{std::chrono::system_clock::now(), std::string(actor), e});
    } catch (...) {  // out of memory: the error is not kept, the call is still counted
    }
  }

  std::atomic<std::uint64_t> rebalances{0}, handoffs{0}, handoffs_in{0};  // topology changes: rare

  /// Adds every thread's counts to `out` (one entry per actor, in index order, created if missing).
  void sum_into(node_metrics& out) const {
    if (out.actors.size() < names_.size()) out.actors.resize(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) {
      out.actors[i].actor = std::string(names_[i]);
      out.actors[i].capability = std::string(capabilities_[i]);
    }
    {
      std::lock_guard lk(shared_->m);
      for (auto const& b : shared_->blocks)
        for (std::size_t i = 0; i < b->actor_count && i < out.actors.size(); ++i) {
          auto& o = out.actors[i];
          auto const& c = b->actors[i];
          for (std::size_t k = 0; k < 32; ++k) o.calls[k] += c.calls[k].get();
          c.local.add_to(o.local_latency);
          c.remote.add_to(o.remote_latency);
        }
    }
    out.rebalances = rebalances.load(std::memory_order_relaxed);
    out.handoffs = handoffs.load(std::memory_order_relaxed);
    out.handoffs_in = handoffs_in.load(std::memory_order_relaxed);
    std::lock_guard lk(errors_m_);
    out.recent_errors.assign(errors_.begin(), errors_.end());
  }

 private:
  thread_counts* mine() noexcept {
    for (auto& e : metrics_cache)
      if (e.key == shared_.get()) return e.block;
    return acquire();
  }

  [[gnu::cold, gnu::noinline]] thread_counts* acquire() noexcept {
    try {
      thread_local metrics_cache_owner owner;
      std::size_t slot = metrics_cache_size;
      for (std::size_t i = 0; i < metrics_cache_size; ++i)
        if (!owner.held[i]) {
          slot = i;
          break;
        }
      if (slot == metrics_cache_size) {  // this thread counts for more nodes than it caches
        slot = owner.next_evict++ % metrics_cache_size;
        owner.held[slot]->release(metrics_cache[slot].block);
        owner.held[slot].reset();
        metrics_cache[slot] = {};
      }
      thread_counts* block = nullptr;
      {
        std::lock_guard lk(shared_->m);
        for (auto& b : shared_->blocks)
          if (!b->in_use && b->actor_count == shared_->actor_count) {
            block = b.get();
            block->in_use = true;
            break;
          }
        if (!block) block = shared_->blocks.emplace_back(std::make_unique<thread_counts>(shared_->actor_count)).get();
      }
      owner.held[slot] = shared_;
      metrics_cache[slot] = {shared_.get(), block};
      return block;
    } catch (...) {  // out of memory: this call is not counted
      return nullptr;
    }
  }

  bool enabled_;
  std::vector<std::string_view> names_, capabilities_;
  std::shared_ptr<metrics_shared> shared_ = std::make_shared<metrics_shared>();
  mutable std::mutex errors_m_;
  std::deque<call_error> errors_;
};

}  // namespace detail
}  // namespace mesh
