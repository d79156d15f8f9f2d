#pragma once
/// The scheduler of a local flow network: a fixed set of worker threads, each with its own run
/// queue (a node scheduled from a worker goes to that worker's queue: its input is hot in that
/// cache), a shared queue for submissions from other threads, stealing between workers, and a
/// short search phase before an idle worker sleeps. Nodes never block a worker (a node whose
/// downstream is full parks, see output_side.hpp), so a fixed pool cannot deadlock.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mesh::flow::detail {

/// An idle worker looks for work this many times (yielding between looks) before it sleeps: on
/// a busy network work arrives within microseconds, and a sleeping worker costs a futex wake-up.
inline constexpr int worker_search_tries = 64;
/// A sleeping worker wakes at least this often on its own, so a wake-up lost to a race delays
/// work by at most this much.
inline constexpr auto worker_sleep_max = std::chrono::milliseconds(50);

/// Something the scheduler runs: a node with work. The scheduler holds one reference per
/// queued entry and releases it after run().
struct task {
  virtual void run() = 0;
  virtual void retain() noexcept = 0;
  virtual void release() noexcept = 0;

 protected:
  ~task() = default;
};

class scheduler {
 public:
  explicit scheduler(std::size_t workers) {
    workers = std::max<std::size_t>(1, workers);
    locals_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) locals_.push_back(std::make_unique<local_queue>());
    threads_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  scheduler(scheduler const&) = delete;
  scheduler& operator=(scheduler const&) = delete;
  ~scheduler() { stop(); }

  std::size_t size() const noexcept { return threads_.size(); }

  /// Queues `t` (whose reference the caller transfers). From one of this scheduler's workers it
  /// goes to that worker's queue, else to the shared queue. Thread-safe.
  void submit(task* t) {
    auto const& me = current();
    if (me.owner == this) {
      std::lock_guard lk(locals_[me.index]->m);
      locals_[me.index]->q.push_back(t);
    } else {
      std::lock_guard lk(global_.m);
      global_.q.push_back(t);
    }
    pending_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0 && searching_.load(std::memory_order_seq_cst) == 0) wake_one();
  }

  /// True on one of this scheduler's worker threads.
  bool on_worker() const noexcept { return current().owner == this; }

  /// Stops the workers after the item each is running; queued items are released, not run.
  void stop() {
    {
      std::lock_guard lk(sleep_m_);
      if (stopping_) return;
      stopping_ = true;
      stop_flag_.store(true, std::memory_order_release);
    }
    sleep_cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    auto drop = [](std::deque<task*>& q) {
      for (auto* t : q) t->release();
      q.clear();
    };
    drop(global_.q);
    for (auto& l : locals_) drop(l->q);
  }

 private:
  struct alignas(64) local_queue {
    std::mutex m;
    std::deque<task*> q;
  };
  struct identity {
    scheduler const* owner = nullptr;
    std::size_t index = 0;
  };
  static identity& current() noexcept {
    thread_local identity id;
    return id;
  }

  task* pop_from(local_queue& l, bool back) {
    std::lock_guard lk(l.m);
    if (l.q.empty()) return nullptr;
    task* t;
    if (back) {
      t = l.q.back();
      l.q.pop_back();
    } else {
      t = l.q.front();
      l.q.pop_front();
    }
    return t;
  }

  task* find_work(std::size_t self) {
    if (pending_.load(std::memory_order_acquire) == 0) return nullptr;
    task* t = pop_from(*locals_[self], false);
    if (!t) t = pop_from(global_, false);
    for (std::size_t k = 1; !t && k < locals_.size(); ++k) t = pop_from(*locals_[(self + k) % locals_.size()], true);
    if (t) pending_.fetch_sub(1, std::memory_order_acq_rel);
    return t;
  }

  void wake_one() {
    std::lock_guard lk(sleep_m_);
    sleep_cv_.notify_one();
  }

  void loop(std::size_t self) {
    current() = identity{this, self};
    while (!stop_flag_.load(std::memory_order_acquire)) {
      if (task* t = find_work(self)) {
        t->run();
        t->release();
        continue;
      }
      searching_.fetch_add(1, std::memory_order_seq_cst);
      task* found = nullptr;
      for (int i = 0; i < worker_search_tries && !found; ++i) {
        std::this_thread::yield();
        found = find_work(self);
      }
      searching_.fetch_sub(1, std::memory_order_seq_cst);
      if (found) {
        // This was perhaps the only searcher: let a sleeper look for the rest.
        if (pending_.load(std::memory_order_acquire) > 0 && sleepers_.load(std::memory_order_acquire) > 0) wake_one();
        found->run();
        found->release();
        continue;
      }
      std::unique_lock lk(sleep_m_);
      if (stopping_) return;
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      sleep_cv_.wait_for(lk, worker_sleep_max,
                         [&] { return stopping_ || pending_.load(std::memory_order_seq_cst) > 0; });
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      if (stopping_) return;
    }
  }

  std::vector<std::unique_ptr<local_queue>> locals_;
  local_queue global_;
  alignas(64) std::atomic<std::size_t> pending_{0};
  alignas(64) std::atomic<int> searching_{0};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_m_;
  std::condition_variable sleep_cv_;
  bool stopping_ = false;
  std::atomic<bool> stop_flag_{false};
  std::vector<std::thread> threads_;
};

}  // namespace mesh::flow::detail
