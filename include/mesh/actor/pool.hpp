#pragma once
/// The worker pool that runs activations, and the deadline timer. Workers that block in a nested
/// call help run other work meanwhile, so call chains deeper than the worker count cannot starve
/// the pool.

#include <mesh/actor/future.hpp>

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
#include <thread>
#include <vector>

namespace mesh::detail {

/// Something a worker can run: an activation with messages waiting.
struct runnable {
  virtual void run() = 0;
  virtual ~runnable() = default;
};

class worker_pool final : public wait_helper {
 public:
  explicit worker_pool(std::size_t n) {
    n = std::max<std::size_t>(1, n);
    threads_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { worker_loop(); });
  }
  worker_pool(worker_pool const&) = delete;
  worker_pool& operator=(worker_pool const&) = delete;
  ~worker_pool() { stop(); }

  std::size_t size() const noexcept { return threads_.size(); }

  void submit(std::shared_ptr<runnable> r) {
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    bool wake;
    {
      std::lock_guard lk(m_);
      q_.push_back(std::move(r));
      queued_.store(q_.size(), std::memory_order_release);
      wake = sleeping_ > 0;  // spinning workers will find it without a wake-up
    }
    if (wake) cv_.notify_one();
  }

  /// Runs one queued item on the calling thread; false when the queue was empty.
  bool try_run_one() {
    std::shared_ptr<runnable> r;
    {
      std::lock_guard lk(m_);
      if (q_.empty()) return false;
      r = std::move(q_.front());
      q_.pop_front();
      queued_.store(q_.size(), std::memory_order_release);
    }
    execute(*r);
    return true;
  }

  /// Blocks until pred() holds or `until` passes, running queued work meanwhile when called from
  /// a worker thread (or any thread that asks to help). pred is re-checked at least every 200 µs.
  template <class Pred>
  bool help_until(Pred pred, clock::time_point until) {
    while (!pred()) {
      if (clock::now() >= until) return pred();
      if (!try_run_one()) {
        std::unique_lock lk(m_);
        if (q_.empty()) cv_help_.wait_for(lk, std::chrono::microseconds(200));
      }
    }
    return true;
  }

  void help_while_waiting(std::function<bool()> const& done, clock::time_point until) override {
    help_until([&] { return done(); }, until);
  }

  /// Waits until every submitted item has run (queue empty and nothing executing), or `until`.
  bool drain(clock::time_point until) {
    std::unique_lock lk(m_);
    draining_.store(true);
    bool const ok = cv_drained_.wait_until(lk, until, [&] { return outstanding_.load() == 0; });
    draining_.store(false);
    return ok;
  }

  void stop() {
    {
      std::lock_guard lk(m_);
      if (stopping_) return;
      stopping_ = true;
      stopping_flag_.store(true);
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
  void execute(runnable& r) {
    r.run();
    if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1 && draining_.load()) {
      std::lock_guard lk(m_);
      cv_drained_.notify_all();
    }
  }

  /// Before sleeping, a worker briefly watches the queue: a message that arrives within a few
  /// microseconds (the common case under load) then costs no futex wake-up on either side.
  bool spin_for_work() const {
    for (int i = 0; i < 256; ++i) {
      if (queued_.load(std::memory_order_acquire) > 0 || stopping_flag_.load(std::memory_order_relaxed)) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 63) std::this_thread::yield();
    }
    return false;
  }

  void worker_loop() {
    on_worker_thread() = true;
    current_wait_helper() = this;
    while (true) {
      std::shared_ptr<runnable> r;
      if (queued_.load(std::memory_order_acquire) == 0) spin_for_work();
      {
        std::unique_lock lk(m_);
        if (q_.empty() && !stopping_) {
          ++sleeping_;
          cv_.wait(lk, [&] { return stopping_ || !q_.empty(); });
          --sleeping_;
        }
        if (q_.empty()) return;  // stopping and nothing left
        r = std::move(q_.front());
        q_.pop_front();
        queued_.store(q_.size(), std::memory_order_release);
        if (!q_.empty()) cv_help_.notify_one();
      }
      execute(*r);
    }
  }

  std::mutex m_;
  std::condition_variable cv_, cv_help_, cv_drained_;
  std::deque<std::shared_ptr<runnable>> q_;
  std::size_t sleeping_ = 0;                 // workers waiting on cv_ (guarded by m_)
  std::atomic<std::size_t> queued_{0};       // q_.size(), readable without the lock
  std::atomic<std::size_t> outstanding_{0};  // submitted and not yet finished
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_flag_{false};
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

/// One thread running callbacks at their time: continuation deadlines and periodic maintenance.
class timer_thread : public deadline_scheduler {
 public:
  timer_thread() : t_([this] { loop(); }) {}
  ~timer_thread() override { stop(); }

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
      f();
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
      f();
      lk.lock();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::priority_queue<item, std::vector<item>, std::greater<>> q_;
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread t_;
};

}  // namespace mesh::detail
