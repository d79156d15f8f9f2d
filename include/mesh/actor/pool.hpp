#pragma once
/// The worker pool that runs activations, and the deadline timer. Workers that block in a nested
/// call help run other work meanwhile, so call chains deeper than the worker count cannot starve
/// the pool.

#include <mesh/actor/deadline_scheduler.hpp>
#include <mesh/core/clock.hpp>
#include <mesh/core/error.hpp>
#include <mesh/core/log.hpp>
#include <mesh/core/thread_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mesh::detail {

/// The pool's run queue: a bounded lock-free multi-producer multi-consumer ring (D. Vyukov's
/// algorithm: one CAS per push or pop, no lock a preempted thread could hold), with a
/// mutex-guarded overflow list for the rare moments the ring is full. Each slot is owned by one
/// thread between claiming it and publishing its sequence number.
class run_queue {
 public:
  run_queue() {
    for (std::size_t i = 0; i < capacity; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }

  /// Queues r. Publishing the item is a seq_cst read-modify-write (of tail_ or overflow_n_), so a
  /// seq_cst load that follows it pairs with a seq_cst fence of a thread about to sleep (see
  /// worker_pool::submit) without a fence of its own.
  void push(runnable* r) {
    if (overflow_n_.load(std::memory_order_relaxed) == 0 && try_push(r)) return;
    std::lock_guard lk(overflow_m_);
    overflow_.push_back(r);
    overflow_n_.fetch_add(1, std::memory_order_seq_cst);
  }

  /// The next item, or null. Every 64th pop looks at the overflow list first so nothing waits
  /// there for long while the ring stays busy.
  runnable* pop() {
    runnable* r = nullptr;
    bool const overflow_first = overflow_n_.load(std::memory_order_acquire) != 0 &&
                                (pops_.fetch_add(1, std::memory_order_relaxed) & 63) == 0;
    if (overflow_first && pop_overflow(r)) return r;
    if (try_pop(r)) return r;
    if (overflow_n_.load(std::memory_order_acquire) != 0) pop_overflow(r);
    return r;
  }

  /// True when nothing is queued (a snapshot; use after a seq_cst fence for sleep decisions).
  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) >= tail_.load(std::memory_order_acquire) &&
           overflow_n_.load(std::memory_order_acquire) == 0;
  }

 private:
  static constexpr std::size_t capacity = 1024;  // power of two
  struct alignas(64) slot {
    std::atomic<std::size_t> seq{0};
    runnable* item = nullptr;
  };

  bool try_push(runnable* r) {
    auto pos = tail_.load(std::memory_order_relaxed);
    while (true) {
      auto& sl = slots_[pos & (capacity - 1)];
      auto const seq = sl.seq.load(std::memory_order_acquire);
      auto const diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
          sl.item = r;
          sl.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  bool try_pop(runnable*& r) {
    auto pos = head_.load(std::memory_order_relaxed);
    while (true) {
      auto& sl = slots_[pos & (capacity - 1)];
      auto const seq = sl.seq.load(std::memory_order_acquire);
      auto const diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          r = sl.item;
          sl.seq.store(pos + capacity, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // empty
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  bool pop_overflow(runnable*& r) {
    std::lock_guard lk(overflow_m_);
    if (overflow_.empty()) return false;
    r = overflow_.front();
    overflow_.pop_front();
    overflow_n_.fetch_sub(1, std::memory_order_release);
    return true;
  }

  alignas(64) std::atomic<std::size_t> tail_{0};  // next position to push
  alignas(64) std::atomic<std::size_t> head_{0};  // next position to pop
  alignas(64) std::atomic<std::size_t> overflow_n_{0};
  std::atomic<std::size_t> pops_{0};
  std::mutex overflow_m_;
  std::deque<runnable*> overflow_;
  std::unique_ptr<slot[]> slots_storage_{new slot[capacity]};
  slot* slots_ = slots_storage_.get();
};

/// Worker threads taking activations from a shared lock-free run queue. An idle worker spins
/// briefly, then sleeps; a submit wakes a sleeper only when no worker is spinning (the spinner
/// will take the item), and a spinner that finds work wakes a sleeper when more is queued.
///
/// The submit path is what a busy caller pays per message, so it touches no cache line a worker
/// writes per item: submissions and completions are counted apart (one counter per worker for
/// completions), and the "anyone to wake?" check needs no fence of its own (see submit).
class worker_pool final : public wait_helper {
  // A helping waiter's predicate (its call completed) comes true without a wake-up of cv_help_:
  // it sleeps at most this long between checks, a bound on how late it sees its own reply.
  static constexpr std::chrono::microseconds helper_recheck_period{200};
  // Polls of the queue (a pause apart, yielding every spin_yield_every) before a worker sleeps.
  static constexpr int spin_polls = 256;
  static constexpr int spin_yield_every = 64;  // a power of two

 public:
  explicit worker_pool(std::size_t n) : finished_(std::max<std::size_t>(1, n)) {
    n = finished_.size();
    threads_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this, i] { worker_loop(finished_[i].n); });
  }
  worker_pool(worker_pool const&) = delete;
  worker_pool& operator=(worker_pool const&) = delete;
  ~worker_pool() { stop(); }

  std::size_t size() const noexcept { return threads_.size(); }

  void submit(runnable* r) {
    if (auto* b = inline_target(); b && b->n < inline_batch::capacity && (!b->only || b->only == r)) {
      b->items[b->n++] = r;
      return;
    }
    submitted_.fetch_add(1, std::memory_order_relaxed);  // before the item is visible (see drain)
    q_.push(r);
    // push() published the item with a seq_cst RMW; these seq_cst loads are ordered after it and
    // pair with the seq_cst fence a worker or helper issues between announcing it waits and its
    // last look at the queue: either it sees this item, or this thread sees it waiting.
    if (spinning_.load(std::memory_order_seq_cst) == 0 && sleeping_.load(std::memory_order_seq_cst) > 0) wake_one();
    if (helpers_waiting_.load(std::memory_order_seq_cst) > 0) wake_helpers();
  }

  /// Runs one queued item on the calling thread; false when the queue was empty.
  bool try_run_one() {
    auto r = q_.pop();
    if (!r) return false;
    execute(r);
    return true;
  }

  /// Blocks until pred() holds or `until` passes, running queued work meanwhile when called from
  /// a worker thread (or any thread that asks to help). pred is re-checked at least every helper_recheck_period.
  template <class Pred>
  bool help_until(Pred pred, clock::time_point until) {
    while (!pred()) {
      if (clock::now() >= until) return pred();
      if (!try_run_one()) {
        std::unique_lock lk(sleep_m_);
        helpers_waiting_.fetch_add(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (q_.empty()) cv_help_.wait_for(lk, helper_recheck_period);
        helpers_waiting_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    return true;
  }

  void help_while_waiting(std::function<bool()> const& done, clock::time_point until) override {
    help_until([&] { return done(); }, until);
  }

  /// Waits until every submitted item has run (queue empty and nothing executing), or `until`.
  bool drain(clock::time_point until) {
    std::unique_lock lk(drain_m_);
    draining_.store(true);
    bool ok = idle();
    while (!ok && clock::now() < until) {
      // Workers notify after each item while draining; the timeout only bounds a missed notify.
      cv_drained_.wait_for(lk, std::chrono::milliseconds(1));
      ok = idle();
    }
    draining_.store(false);
    return ok;
  }

  void stop() {
    {
      std::lock_guard lk(sleep_m_);
      if (stopping_.load()) return;
      stopping_.store(true);
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  /// True on a thread owned by any worker_pool (used to decide whether a blocking wait must help).
  static bool& on_worker_thread() {
    thread_local bool v = false;
    return v;
  }

 private:
  /// A completion count written by one thread only, on its own cache line.
  struct alignas(64) counter {
    std::atomic<std::size_t> n{0};
  };

  /// The pool the calling thread works for, and its completion counter there.
  struct worker_identity {
    worker_pool const* pool = nullptr;
    std::atomic<std::size_t>* finished = nullptr;
  };
  static worker_identity& own() noexcept {
    thread_local worker_identity w;
    return w;
  }

  /// True when every submitted item has finished. Completions are read before submissions: both
  /// only grow and an item is counted as submitted before it can finish, so equal sums mean that
  /// at the moment the last completion counter was read, nothing was queued or running.
  bool idle() const noexcept {
    std::size_t done = other_finished_.n.load(std::memory_order_acquire);
    for (auto const& c : finished_) done += c.n.load(std::memory_order_acquire);
    return done == submitted_.load(std::memory_order_acquire);
  }

  void execute(runnable* r) {
    r->run();
    // Counted on this worker's own line; a thread of another pool or none shares a counter.
    if (auto const& me = own(); me.pool == this)
      me.finished->store(me.finished->load(std::memory_order_relaxed) + 1, std::memory_order_release);
    else
      other_finished_.n.fetch_add(1, std::memory_order_release);
    if (draining_.load(std::memory_order_relaxed)) {
      std::lock_guard lk(drain_m_);
      cv_drained_.notify_all();
    }
  }

  void wake_one() {
    { std::lock_guard lk(sleep_m_); }  // a sleeper is either before its last look or waiting
    cv_.notify_one();
  }
  void wake_helpers() {
    { std::lock_guard lk(sleep_m_); }
    cv_help_.notify_all();
  }

  /// Watches the queue for a few microseconds: work that arrives meanwhile (the common case under
  /// load) then costs no futex wake-up on either side. Returns the item found, if any. Polls with
  /// pop(), which reads the consumers' side of the queue only (not the producers' tail).
  runnable* spin_for_work() {
    for (int i = 0; i < spin_polls; ++i) {
      if (auto r = q_.pop()) return r;
      if (stopping_.load(std::memory_order_relaxed)) return nullptr;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & (spin_yield_every - 1)) == spin_yield_every - 1) std::this_thread::yield();
    }
    return nullptr;
  }

  void worker_loop(std::atomic<std::size_t>& finished) {
    on_worker_thread() = true;
    own() = {this, &finished};
    scoped_context<wait_helper> helping(&thread_context::helper, this);
    while (true) {
      auto r = q_.pop();
      if (!r) {
        spinning_.fetch_add(1, std::memory_order_seq_cst);
        r = spin_for_work();
        if (!r) {
          // Sleep: announce it, stop spinning, then look at the queue one last time (see submit).
          std::unique_lock lk(sleep_m_);
          sleeping_.fetch_add(1, std::memory_order_relaxed);
          spinning_.fetch_sub(1, std::memory_order_relaxed);
          std::atomic_thread_fence(std::memory_order_seq_cst);
          // The timeout is a backstop, not the protocol: under ASan on a slow host about 1 run in
          // 100 of a test with two sleeping workers and two quick submits left the second worker
          // asleep with work queued (the wake-up sent by submit got lost; an earlier commit
          // rebuilt shows it too; consistent with glibc bug 25847, a pthread_cond_signal that
          // wakes nobody, in Debian 12's glibc 2.36). An idle worker looks again every 50 ms.
          while (!stopping_.load() && (r = q_.pop()) == nullptr && q_.empty()) cv_.wait_for(lk, std::chrono::milliseconds(50));
          sleeping_.fetch_sub(1, std::memory_order_relaxed);
          if (!r) r = q_.pop();
          if (!r) {
            if (stopping_.load()) return;  // stopping and nothing left
            continue;
          }
        } else {
          // Found work while spinning: if more is queued and nobody else is looking, wake a sleeper.
          // (The fence pairs with submit's: a submit that saw this worker spinning is seen here.)
          bool const last = spinning_.fetch_sub(1, std::memory_order_relaxed) == 1;
          std::atomic_thread_fence(std::memory_order_seq_cst);
          if (last && !q_.empty() && sleeping_.load(std::memory_order_relaxed) > 0) wake_one();
        }
      }
      execute(r);
    }
  }

  run_queue q_;
  // Written by submitters only.
  alignas(64) std::atomic<std::size_t> submitted_{0};
  // Written when a worker starts or stops spinning or sleeping; read by every submit.
  alignas(64) std::atomic<int> sleeping_{0};  // workers waiting on cv_
  std::atomic<int> spinning_{0};              // workers watching the queue before sleeping
  std::atomic<int> helpers_waiting_{0};       // help_until callers waiting on cv_help_
  // Read by workers per item; written only when draining or stopping.
  alignas(64) std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  alignas(64) std::mutex sleep_m_;  // guards sleeping on cv_ / cv_help_ (not the queue)
  std::condition_variable cv_, cv_help_;
  std::mutex drain_m_;
  std::condition_variable cv_drained_;
  std::vector<counter> finished_;  // items run by each worker (index = worker)
  counter other_finished_;         // items run by other threads (try_run_one)
  std::vector<std::thread> threads_;
};

/// One thread running callbacks at their time: continuation deadlines and periodic maintenance.
class timer_thread : public deadline_scheduler {
 public:
  /// Reports through a copy of the node's logger, tagged `tag` on stderr without one (a copy:
  /// the timer may outlive the node).
  explicit timer_thread(log_handler logger = {}, log_level threshold = log_level::info, std::string tag = "mesh")
      : logger_(std::move(logger)), threshold_(threshold), tag_(std::move(tag)), t_([this] { loop(); }) {}
  ~timer_thread() override { stop(); }

  void report(std::string_view line) noexcept override { write_log(logger_, threshold_, tag_, log_level::error, line); }

  void at(clock::time_point when, std::function<void()> fire) override {
    {
      std::lock_guard lk(m_);
      if (stopping_) return;
      q_.push(item{when, seq_++, std::move(fire)});
    }
    cv_.notify_one();
  }

  void stop() {
    {
      std::lock_guard lk(m_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_one();
    if (t_.joinable()) t_.join();
    // Fire what is left so no continuation is lost (they complete with timeout or are no-ops).
    while (!q_.empty()) {
      auto f = std::move(const_cast<item&>(q_.top()).fire);
      q_.pop();
      run(f);
    }
  }

 private:
  struct item {
    clock::time_point when;
    std::uint64_t seq;
    std::function<void()> fire;
    bool operator>(item const& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  void loop() {
    std::unique_lock lk(m_);
    while (!stopping_) {
      if (q_.empty()) {
        cv_.wait(lk);
        continue;
      }
      auto when = q_.top().when;
      if (clock::now() < when) {
        cv_.wait_until(lk, when);
        continue;
      }
      auto f = std::move(const_cast<item&>(q_.top()).fire);
      q_.pop();
      lk.unlock();
      run(f);
      lk.lock();
    }
  }
  /// Runs one task: an exception (say, out of memory in a reaper round) is reported, and the
  /// timer goes on with the other deadlines.
  void run(std::function<void()>& f) noexcept {
    try {
      f();
    } catch (...) {
      try {
        report("a timer task threw: " + exception_text(std::current_exception()));
      } catch (...) {  // out of memory while reporting
      }
    }
  }
  log_handler logger_;
  log_level threshold_;
  std::string tag_;
  std::mutex m_;
  std::condition_variable cv_;
  std::priority_queue<item, std::vector<item>, std::greater<>> q_;
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread t_;
};

}  // namespace mesh::detail
