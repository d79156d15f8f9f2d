#pragma once
/// mesh::future<T>: the result of call_async. Waitable with a deadline, continued with then(),
/// awaited with co_await, or cancelled. Dropping a future never blocks.

#include <mesh/actor/call_state.hpp>
#include <mesh/actor/deadline_scheduler.hpp>
#include <mesh/actor/reply.hpp>
#include <mesh/core/clock.hpp>
#include <mesh/core/error.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <functional>
#include <optional>
#include <memory>
#include <type_traits>
#include <utility>

namespace mesh {

namespace detail {
[[gnu::cold, gnu::noinline]] inline error get_timed_out(std::chrono::milliseconds d) {
  return fail(errc::timeout, "no result within " + std::to_string(d.count()) +
                                 " ms (the call goes on until its deadline; get() again to wait longer)");
}
[[gnu::cold, gnu::noinline]] inline error cancelled() {
  return fail(errc::timeout, "call cancelled (the handler may still run; its reply is dropped)");
}

/// Completes `s` with errc::timeout at its deadline on the node's timer thread, so that a call
/// nobody blocks on (a continuation, a co_await) still ends by its deadline.
template <class V>
void arm_deadline(std::shared_ptr<call_state<V>> const& s, std::weak_ptr<deadline_scheduler> const& sched) {
  if (s->completed()) return;
  if (auto sc = sched.lock()) {
    std::weak_ptr<call_state<V>> w = s;
    sc->at(s->deadline(), [w] {
      if (auto st = w.lock()) st->complete(fail(errc::timeout, "call did not answer before its deadline"));
    });
  }
}

struct future_access;
}  // namespace detail

/// The eventual result of call_async: a mesh::result<mesh::reply<T>>.
///
/// `co_await f` (in any C++20 coroutine) suspends until the call completes, without blocking a
/// thread, and yields what get() returns: the result<reply<T>> (errors are values, never thrown).
/// The coroutine resumes on the thread that completes the call (a worker, the I/O thread or the
/// timer thread at the deadline), or at once when the result is already there; inside a
/// coroutine handler (mesh::task) it resumes on the node's workers instead (actor/task.hpp).
template <class T>
class [[nodiscard]] future {
 public:
  /// What get() returns and co_await yields.
  using value_type = result<reply<T>>;
  /// An empty future (valid() is false).
  future() = default;
  /// Internal: the runtime's call state and deadline timer.
  future(std::shared_ptr<detail::call_state<value_type>> s, std::weak_ptr<detail::deadline_scheduler> sched = {})
      : state_(std::move(s)), sched_(std::move(sched)) {}

  /// False for an empty or consumed (get, then, co_await of an rvalue) future.
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

  /// Waits at most `d` for the result: returns it (consuming the future), or errc::timeout and
  /// leaves the future as it was (the call goes on until its own deadline; get again to wait more).
  template <class Rep, class Period>
  value_type get(std::chrono::duration<Rep, Period> d) {
    if (!state_) return fail(errc::invalid_argument, "get() on an empty mesh::future");
    if (!state_->wait_until(detail::clock::now() + d)) return detail::get_timed_out(std::chrono::duration_cast<std::chrono::milliseconds>(d));
    return get();
  }

  /// Waits at most `d`; true when the result is ready.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) const {
    return state_ && state_->wait_until(detail::clock::now() + d);
  }

  /// Ends the wait for a pending call: its waiter (get, co_await, then) gets errc::timeout
  /// ("call cancelled") at once, and a reply that comes later is dropped. Like a timeout, the
  /// handler may still run (a queued local call that has not started is skipped). Returns false
  /// when the call had already completed (nothing changes). Does not consume the future; safe
  /// while a coroutine awaits it on another thread.
  bool cancel() {
    return state_ && state_->complete(detail::cancelled());
  }

  /// Awaits the result: see the class comment. An lvalue future stays valid, so it can still be
  /// cancel()led while it is awaited.
  auto operator co_await() & noexcept { return awaiter{state_, sched_}; }
  /// Awaits the result of a temporary future (`co_await n.call_async<A>(...)`).
  auto operator co_await() && noexcept { return awaiter{std::move(state_), std::move(sched_)}; }

  /// Runs `f(result)` once the call completes, on the thread that completes it (a worker, the
  /// I/O thread or the deadline timer): keep it short. Consumes the future. An exception
  /// escaping `f` is logged through node_config::logger and goes no further.
  template <class F>
  void then(F&& f) {
    constexpr bool usable = std::is_invocable_v<std::decay_t<F>&, value_type> && std::is_copy_constructible_v<std::decay_t<F>>;
    if constexpr (!usable) {
      static_assert(usable, "mesh: future<T>::then(f) needs a copyable f callable with one mesh::result<mesh::reply<T>>");
    } else {
      if (!state_) return;
      auto s = std::move(state_);
      detail::arm_deadline(s, sched_);
      s->then(std::function<void(value_type)>([fn = std::decay_t<F>(std::forward<F>(f)), w = sched_](value_type v) mutable {
        try {
          fn(std::move(v));
        } catch (...) {
          detail::continuation_threw(w, std::current_exception());
        }
      }));
    }
  }

 private:
  friend struct detail::future_access;

  // co_await outside a coroutine handler: the coroutine resumes on the completing thread. The
  // flag decides who resumes it when the result comes while it is still suspending.
  struct awaiter {
    std::shared_ptr<detail::call_state<value_type>> s;
    std::weak_ptr<detail::deadline_scheduler> sched;
    std::optional<value_type> v{};
    std::atomic<bool> flag{false};

    bool await_ready() const noexcept { return !s || s->completed(); }
    bool await_suspend(std::coroutine_handle<> h) {
      detail::arm_deadline(s, sched);
      s->then(std::function<void(value_type)>([this, h](value_type r) {
        v.emplace(std::move(r));
        if (flag.exchange(true)) h.resume();  // the coroutine is suspended: resume it here
      }));
      return !flag.exchange(true);  // false: the result came meanwhile, go on now
    }
    value_type await_resume() {
      if (!s) return fail(errc::invalid_argument, "co_await on an empty mesh::future");
      if (v) return std::move(*v);
      return s->take();
    }
  };

  std::shared_ptr<detail::call_state<value_type>> state_;
  std::weak_ptr<detail::deadline_scheduler> sched_;
};

}  // namespace mesh
