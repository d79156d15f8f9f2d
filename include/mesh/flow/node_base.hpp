#pragma once
/// The local runtime's node, whatever its logic: detail::node_base (a schedulable task with a
/// node_state, the claim/park protocol and wake-ups), detail::inbox<T> (its bounded input queue)
/// and the sinks links push into. See docs/flow.md ("Scheduling", "Backpressure").

#include <mesh/flow/bounded_queue.hpp>
#include <mesh/flow/node_state.hpp>
#include <mesh/flow/ref.hpp>
#include <mesh/flow/scheduler.hpp>
#include <mesh/flow/type_key.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mesh::flow::detail {

using clock = std::chrono::steady_clock;

/// A sender outside the network first retries a full queue this many times (yielding between
/// tries) before it sleeps: a busy consumer usually frees a slot within microseconds.
inline constexpr int push_spin_tries = 64;
/// A sleeping sender re-checks a full queue at least this often, so a wake-up it missed costs
/// at most this much latency.
inline constexpr auto push_wait_slice = std::chrono::milliseconds(2);

enum class push_status { ok, full, closed };

class local_engine;

/// What every local node has, whatever its logic.
class node_base : public task, public node_state {
 public:
  /// The types a node is described by, as in-process keys.
  struct keys {
    type_key input, output, logic;
  };

  node_base(local_engine& e, node_id id, names n, keys k, log_function const& logger)
      : node_state(std::move(id), std::move(n), logger), engine_(e), keys_(k) {}
  virtual ~node_base() = default;

  void retain() noexcept override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  local_engine& engine() const noexcept { return engine_; }
  type_key input_type() const noexcept { return keys_.input; }
  type_key output_type() const noexcept { return keys_.output; }
  type_key logic_type() const noexcept { return keys_.logic; }

  // ---- described by the typed node -----------------------------------------------------------
  /// `static_cast<sink<input>*>(this)` as void* (the target side of a direct link).
  virtual void* input_sink() noexcept = 0;
  /// Adds an outgoing link whose sink (`sink<output>*` as void*) feeds `target`; `keep` owns a
  /// converting sink when there is one.
  virtual void add_link(ref<node_base> target, void* sink, std::shared_ptr<void> keep) = 0;
  /// Removes the outgoing link to `target`.
  virtual void remove_link(node_base const* target) = 0;
  virtual std::uint64_t pushed() const noexcept = 0;
  virtual std::uint64_t popped() const noexcept = 0;
  virtual std::size_t queue_capacity() const noexcept = 0;
  /// Breaks reference cycles (links, held items, parked producers) when the network ends.
  virtual void clear_references() = 0;

  bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }
  /// Idle: not scheduled, not running, not parked, nothing queued.
  bool idle() const noexcept { return !claimed_.load(std::memory_order_acquire) && pushed() == popped(); }

  /// Marks the node stopped: later pushes are refused (closed), queued items are discarded by
  /// its next turn, parked producers and external senders are woken so they see it closed.
  void stop();

  /// A snapshot for node_info (the caller holds the topology lock: links are read).
  mesh::flow::node_info info() const {
    auto const t = pushed(), h = popped();
    return node_state::info(t > h ? t - h : 0, queue_capacity(), {});
  }

  /// Registers `w` to be rescheduled when this node frees queue space.
  void add_waiter(node_base& w) {
    std::lock_guard lk(waiters_mu_);
    waiters_.emplace_back(&w);
    has_waiters_.store(true, std::memory_order_seq_cst);
  }

 protected:
  friend class local_engine;

  /// Schedules this node unless it is already scheduled, running or parked.
  void schedule();
  /// Keeps the claim and queues the node again (its batch budget ran out).
  void resubmit();
  /// Gives up the claim; takes it back at once when items arrived meanwhile.
  void release_claim() {
    claimed_.store(false, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (pushed() != popped() && !claimed_.exchange(true, std::memory_order_acq_rel)) resubmit();
  }
  /// After popping items: wakes external senders and parked producers waiting for room.
  void notify_space() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ext_waiters_.load(std::memory_order_relaxed) > 0) {
      std::lock_guard lk(ext_mu_);
      ext_cv_.notify_all();
    }
    wake_waiters();
  }
  void wake_waiters();

  local_engine& engine_;
  keys keys_;
  std::atomic<int> refs_{0};
  std::atomic<bool> claimed_{false};      // scheduled, running or parked
  std::atomic<std::uint64_t> parked_{0};  // park token while waiting for room downstream (claim kept)
  std::atomic<bool> stopped_{false};
  /// Held while process() or retrieve() runs: one item at a time, retrieve sees a stable state.
  std::mutex state_mu_;

  std::mutex waiters_mu_;
  std::vector<ref<node_base>> waiters_;
  std::atomic<bool> has_waiters_{false};

  std::mutex ext_mu_;
  std::condition_variable ext_cv_;
  std::atomic<int> ext_waiters_{0};
};

/// Where items of type T can be pushed: a node's input queue, or a converting adaptor.
template <class T>
struct sink {
  /// Moves v in on success; leaves it untouched when full or closed.
  virtual push_status try_push(T& v) = 0;
  virtual bool has_space() const noexcept = 0;

 protected:
  ~sink() = default;
};

/// A node whose input is T.
template <class T>
class inbox : public node_base, public sink<T> {
 public:
  inbox(local_engine& e, node_id id, names n, keys k, log_function const& logger, std::size_t capacity)
      : node_base(e, std::move(id), std::move(n), k, logger), q_(capacity) {}

  push_status try_push(T& v) override {
    if (stopped_.load(std::memory_order_acquire)) return push_status::closed;
    if (!q_.try_push(v)) return push_status::full;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!claimed_.load(std::memory_order_relaxed)) schedule();
    return push_status::ok;
  }
  bool has_space() const noexcept override { return stopped() || q_.has_space(); }

  /// Pushes from a thread outside the network's workers: waits for room until `deadline`.
  push_status push_wait(T& v, clock::time_point deadline) {
    for (int spin = 0; spin < push_spin_tries; ++spin) {
      auto const st = try_push(v);
      if (st != push_status::full) return st;
      std::this_thread::yield();
    }
    std::unique_lock lk(ext_mu_);
    ext_waiters_.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    push_status st;
    while ((st = try_push(v)) == push_status::full) {
      auto const now = clock::now();
      if (now >= deadline) break;
      ext_cv_.wait_until(lk, std::min(deadline, now + push_wait_slice));
    }
    ext_waiters_.fetch_sub(1, std::memory_order_relaxed);
    return st;
  }

  void* input_sink() noexcept override { return static_cast<sink<T>*>(this); }
  std::uint64_t pushed() const noexcept override { return q_.pushed(); }
  std::uint64_t popped() const noexcept override { return q_.popped(); }
  std::size_t queue_capacity() const noexcept override { return q_.capacity(); }

 protected:
  bounded_queue<T> q_;
};

/// A link whose target's input is U, fed with T (compile-time graphs: output convertible to input).
template <class T, class U>
struct converting_sink final : sink<T> {
  explicit converting_sink(inbox<U>* d) noexcept : dst(d) {}
  push_status try_push(T& v) override {
    U u = static_cast<U>(std::as_const(v));
    return dst->try_push(u);
  }
  bool has_space() const noexcept override { return dst->has_space(); }
  inbox<U>* dst;
};

template <class T>
struct link {
  ref<node_base> node;
  sink<T>* to = nullptr;
  std::shared_ptr<void> keep;  // the converting sink, when there is one
};

}  // namespace mesh::flow::detail
