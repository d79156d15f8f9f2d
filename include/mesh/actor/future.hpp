#pragma once
/// mesh::future<T>: the result of call_async. Waitable with a deadline, or continued with then().
/// Dropping a future never blocks.

#include <mesh/actor/reply.hpp>
#include <mesh/core/error.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace mesh {

namespace detail {

using clock = std::chrono::steady_clock;

/// Something that can run queued work while its thread waits for a call: the worker pool, set on
/// its own threads, so a handler blocked in future::get() does not take a worker out of service
/// (with every worker waiting that way, the calls they wait for could never run).
class wait_helper {
 public:
  /// Runs queued work until `done()` holds or `until` passes.
  virtual void help_while_waiting(std::function<bool()> const& done, clock::time_point until) = 0;

 protected:
  ~wait_helper() = default;
};

/// The wait_helper of the calling thread (null outside worker threads).
inline wait_helper*& current_wait_helper() noexcept {
  thread_local wait_helper* h = nullptr;
  return h;
}

/// errc::timeout for a call to (actor, id); out of line, built only when it happens.
[[gnu::cold, gnu::noinline]] inline error timed_out(std::string_view actor, std::string_view id) {
  if (actor.empty()) return fail(errc::timeout, "call did not answer before its deadline");
  return fail(errc::timeout, "call to actor '" + std::string(actor) + "' id '" + std::string(id) +
                                 "' did not answer before its deadline");
}

/// Shared state of one call. The first completion wins (reply, error, timeout or shutdown); later
/// ones are ignored, so a late reply after a timeout is dropped safely.
template <class R>
class call_state {
 public:
  explicit call_state(clock::time_point deadline) : deadline_(deadline) {}

  /// Completes the call; returns false when it was already completed.
  bool complete(R&& r) {
    if (claimed_.exchange(true, std::memory_order_acq_rel)) return false;
    std::function<void(R)> cont;
    bool wake;
    {
      std::lock_guard lk(m_);
      value_.emplace(std::move(r));
      ready_ = true;
      ready_flag_.store(true, std::memory_order_release);
      cont = std::move(cont_);
      wake = waiters_ > 0;
    }
    if (wake) cv_.notify_all();
    if (cont) cont(std::move(*value_));
    return true;
  }

  bool completed() const noexcept { return claimed_.load(std::memory_order_acquire); }
  clock::time_point deadline() const noexcept { return deadline_; }

  /// Waits until completed or the deadline passes; on expiry completes with errc::timeout.
  R take(std::string_view actor = {}, std::string_view id = {}) {
    if (auto* h = current_wait_helper(); h && !completed()) h->help_while_waiting([this] { return completed(); }, deadline_);
    // A reply usually arrives within microseconds: watch for it briefly before sleeping.
    for (int i = 0; i < 128 && !ready_flag_.load(std::memory_order_acquire); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 31) == 31) std::this_thread::yield();
    }
    std::unique_lock lk(m_);
    if (!ready_) {
      ++waiters_;
      bool const in_time = cv_.wait_until(lk, deadline_, [&] { return ready_; });
      if (!in_time) {
        lk.unlock();
        complete(timed_out(actor, id));
        lk.lock();
        // When another thread claimed the call just before the deadline, our timeout lost the
        // race: its result is being stored now; wait for it rather than report a missing value.
        cv_.wait(lk, [&] { return ready_; });
      }
      --waiters_;
    }
    // `value_` holds the result unless a continuation already consumed it.
    if (!value_) return fail(errc::invalid_argument, "future already consumed by then()");
    R out = std::move(*value_);
    value_.reset();
    return out;
  }

  /// Waits (without consuming) until completed or `until`; true when completed.
  bool wait_until(clock::time_point until) {
    std::unique_lock lk(m_);
    ++waiters_;
    bool const ok = cv_.wait_until(lk, until, [&] { return ready_; });
    --waiters_;
    return ok;
  }

  /// Registers a continuation run by whoever completes the call (or now, if already complete).
  void then(std::function<void(R)> f) {
    std::unique_lock lk(m_);
    if (ready_) {
      R v = std::move(*value_);
      value_.reset();
      lk.unlock();
      f(std::move(v));
      return;
    }
    cont_ = std::move(f);
  }

 private:
  std::atomic<bool> claimed_{false};
  std::mutex m_;
  std::condition_variable cv_;
  bool ready_ = false;
  int waiters_ = 0;                      // threads blocked on cv_ (guarded by m_)
  std::atomic<bool> ready_flag_{false};  // ready_, readable without the lock
  std::optional<R> value_;
  std::function<void(R)> cont_;
  clock::time_point deadline_;
};

/// Registers deadlines of continued futures so a continuation always runs (with errc::timeout
/// at the latest). Implemented by the node runtime.
struct deadline_scheduler {
  virtual void at(clock::time_point when, std::function<void()> fire) = 0;
  virtual ~deadline_scheduler() = default;
};

}  // namespace detail

/// The eventual result of call_async: a mesh::result<mesh::reply<T>>.
template <class T>
class [[nodiscard]] future {
 public:
  using value_type = result<reply<T>>;
  future() = default;
  future(std::shared_ptr<detail::call_state<value_type>> s, std::weak_ptr<detail::deadline_scheduler> sched = {})
      : state_(std::move(s)), sched_(std::move(sched)) {}

  bool valid() const noexcept { return state_ != nullptr; }

  /// True once a reply, an error or the deadline has arrived.
  bool ready() const noexcept { return state_ && state_->completed(); }

  /// Waits for the result (at most until the call's deadline) and returns it. Call once.
  /// Inside a handler (on a worker thread) the wait runs other queued activations meanwhile.
  value_type get() {
    if (!state_) return fail(errc::invalid_argument, "get() on an empty mesh::future");
    auto s = std::move(state_);
    return s->take();
  }

  /// Waits at most `d`; true when the result is ready.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) const {
    return state_ && state_->wait_until(detail::clock::now() + d);
  }

  /// Runs `f(result)` once the call completes, on the thread that completes it (a worker, the
  /// I/O thread or the deadline timer): keep it short. Consumes the future.
  template <class F>
  void then(F&& f) {
    if (!state_) return;
    auto s = std::move(state_);
    if (!s->completed()) {
      if (auto sched = sched_.lock()) {
        std::weak_ptr<detail::call_state<value_type>> w = s;
        sched->at(s->deadline(), [w] {
          if (auto st = w.lock()) st->complete(fail(errc::timeout, "call did not answer before its deadline"));
        });
      }
    }
    s->then(std::function<void(value_type)>(std::forward<F>(f)));
  }

 private:
  std::shared_ptr<detail::call_state<value_type>> state_;
  std::weak_ptr<detail::deadline_scheduler> sched_;
};

}  // namespace mesh
