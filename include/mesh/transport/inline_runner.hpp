#pragma once
/// transport::inline_runner: handlers run on the I/O thread (node_config::io_thread_runs_handlers)
/// and the relief thread that keeps the I/O loop going while they run.
///
/// A raw ZeroMQ server answers on the thread that reads; waking a worker instead costs a thread
/// hand-off per request. So the activations the I/O thread's reads make runnable are collected
/// (thread_context::inline_target) and run on the I/O thread once it has released the sockets:
/// their answers are batched (answer_batcher) and a handler that waits for a remote reply reads it
/// itself. Guards: a handler about to wait hands the rest of the batch to the workers
/// (deferred_work), and that or a handler that runs longer than slow_handler turns inlining off
/// for a while. While handlers run there, nobody would read the sockets, send heartbeats or expire
/// calls: a timerfd wakes the relief thread, which takes over when the batch has run relief_after,
/// or at once when a handler starts waiting. It then hands the rest of the batch to the workers
/// and runs the loop's passes (requests go to the workers) until the I/O thread is back; only one
/// of them runs passes at a time (relief_active_).

#include <mesh/transport/io_loop.hpp>

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace mesh::transport {

class inline_runner final : public inline_hooks {
  using clock = mesh::detail::clock;

 public:
  /// The batch has run this long: the relief thread takes over the loop's passes.
  static constexpr std::chrono::nanoseconds relief_after = std::chrono::milliseconds(2);
  /// A handler this slow turns inlining off (see pause).
  static constexpr auto slow_handler = std::chrono::milliseconds(1);
  /// An activation's consecutive turns run inline at most this long before the sockets' turn.
  static constexpr auto turn_limit = std::chrono::microseconds(500);
  /// Inlining pauses this long after a slow handler, doubling up to max_pause while handlers stay
  /// slow: a quick handler that the kernel preempted looks slow once (common on a busy machine),
  /// and a second of worker hand-offs for it would cost more than the slow handler did.
  static constexpr auto first_pause = std::chrono::milliseconds(10);
  static constexpr auto max_pause = std::chrono::seconds(1);

  explicit inline_runner(io_loop& loop) : loop_(loop) {
    timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (timer_ >= 0 && stop_fd_ >= 0) thread_ = std::thread([this] { relief_loop(); });
  }
  inline_runner(inline_runner const&) = delete;
  inline_runner& operator=(inline_runner const&) = delete;
  ~inline_runner() { stop(); }

  /// Joins the relief thread (after the loop stopped).
  [[gnu::cold]] void stop() {
    if (thread_.joinable()) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(stop_fd_, &one, sizeof one);
      thread_.join();
    }
    for (int fd : {timer_, stop_fd_})
      if (fd >= 0) ::close(fd);
    timer_ = stop_fd_ = -1;
  }

  /// Where the I/O thread's reads collect runnables now, or null (inlining paused or unavailable).
  mesh::detail::inline_batch* target(clock::time_point now) noexcept override {
    return thread_.joinable() && now >= off_until_ ? &batch_ : nullptr;
  }
  bool has_work() const noexcept override { return batch_.n != 0; }

  /// Runs the collected batch on this thread (the I/O thread, sockets released).
  void run() override {
    struct rest final : mesh::detail::deferred_work {
      inline_runner& r;
      explicit rest(inline_runner& owner) : r(owner) {}
      void release_all() override {  // a handler is about to wait: it may take long
        r.loop_.flush_answers();
        r.pause(clock::now());
        r.relief_now_.store(true);
        r.arm(std::chrono::nanoseconds(1));  // the loop's passes go on meanwhile
      }
    } r{*this};
    mesh::detail::scoped_context<mesh::detail::deferred_work> deferring(&mesh::detail::thread_context::deferred, &r);
    mesh::detail::scoped_context<void const> batching(&mesh::detail::thread_context::answer_collector, &loop_);
    claim_.store(0, std::memory_order_relaxed);
    n_.store(batch_.n, std::memory_order_release);
    relief_now_.store(false, std::memory_order_relaxed);
    auto const start = clock::now();
    started_.store(start.time_since_epoch().count(), std::memory_order_release);
    running_.store(true, std::memory_order_seq_cst);
    // One timer per relief_after at most, not one system call per batch: when it fires during a
    // later, younger batch, the relief thread re-arms it for that batch's remaining time.
    if (!armed_.exchange(true, std::memory_order_seq_cst)) arm(relief_after);
    for (int i; (i = claim_.fetch_add(1, std::memory_order_acq_rel)) < batch_.n;) {
      auto* const item = batch_.items[i];
      // An activation runs a bounded number of messages per turn, then resubmits itself: keep
      // that turn here (`again` collects it) up to turn_limit, then give the sockets their turn.
      mesh::detail::inline_batch again;
      again.only = item;
      for (auto t0 = clock::now();;) {
        again.n = 0;
        {
          mesh::detail::scoped_context<mesh::detail::inline_batch> collect(&mesh::detail::thread_context::inline_target, &again);
          item->run();
        }
        auto const t1 = clock::now();
        bool const slow = t1 - t0 > slow_handler;
        bool const stop_here = !again.n || slow || t1 - start > turn_limit;
        if (again.n && stop_here) loop_.h_.hand_to_workers(item);
        if (slow) pause(t1);
        if (stop_here) break;
        t0 = t1;
      }
    }
    loop_.flush_answers();
    running_.store(false, std::memory_order_seq_cst);
    if (relief_active_.load(std::memory_order_seq_cst)) {
      loop_.cmds_.ring();  // its poll(2) includes the doorbell
      while (relief_active_.load(std::memory_order_seq_cst)) std::this_thread::yield();
    }
    batch_.n = 0;
  }

 private:
  void arm(std::chrono::nanoseconds after) noexcept {
    itimerspec its{};
    its.it_value.tv_sec = static_cast<time_t>(after.count() / 1'000'000'000);
    its.it_value.tv_nsec = static_cast<long>(after.count() % 1'000'000'000);
    ::timerfd_settime(timer_, 0, &its, nullptr);
  }

  /// A handler ran long or waits: inlining stops for a while, the batch's rest goes to the
  /// workers (I/O thread only).
  void pause(clock::time_point now) {
    bool const again = now < off_until_ + pause_;  // slow again soon after the last pause
    pause_ = again ? std::min<clock::duration>(pause_ * 2, max_pause) : clock::duration(first_pause);
    off_until_ = now + pause_;
    release_rest();
  }

  /// Submits the batch's unclaimed items to the workers (either thread).
  void release_rest() {
    for (int i; (i = claim_.fetch_add(1, std::memory_order_acq_rel)) < n_.load(std::memory_order_acquire);)
      loop_.h_.hand_to_workers(batch_.items[i]);
  }

  void relief_loop() {
    pollfd fds[2] = {{timer_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    while (!loop_.stopped()) {
      if (::poll(fds, 2, -1) <= 0) continue;
      if (fds[1].revents & POLLIN) break;
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(timer_, &v, sizeof v);
      armed_.store(false, std::memory_order_seq_cst);
      // Dekker with run()'s end: it clears running_ then reads relief_active_.
      relief_active_.store(true, std::memory_order_seq_cst);
      if (running_.load(std::memory_order_seq_cst) && !loop_.stopped()) {
        // The timer was armed for an earlier batch: this one may have just started.
        auto const ran = std::chrono::nanoseconds(clock::now().time_since_epoch().count() - started_.load(std::memory_order_acquire));
        if (ran < relief_after && !relief_now_.exchange(false)) {
          relief_active_.store(false, std::memory_order_seq_cst);
          armed_.store(true, std::memory_order_seq_cst);
          arm(relief_after - ran);
          continue;
        }
        release_rest();
        loop_.flush_answers();  // what the I/O thread collected before the handler that runs long
        loop_.lock();
        while (running_.load(std::memory_order_seq_cst) && !loop_.stopped()) loop_.pass(false);
        loop_.unlock();
      }
      relief_active_.store(false, std::memory_order_seq_cst);
    }
  }

  io_loop& loop_;
  std::thread thread_;
  int timer_ = -1, stop_fd_ = -1;
  mesh::detail::inline_batch batch_;           // items: I/O thread; claims: atomic
  std::atomic<int> claim_{0};             // next item of batch_ to run or hand over
  std::atomic<int> n_{0};                 // batch_.n, published for the relief thread
  clock::time_point off_until_{};         // inlining is off until then (a slow handler ran)
  clock::duration pause_{};               // length of the last pause
  std::atomic<bool> running_{false}, relief_active_{false};
  std::atomic<bool> armed_{false}, relief_now_{false};  // timer pending; take over at once
  std::atomic<clock::rep> started_{0};                  // the current batch's start
};

}  // namespace mesh::transport
