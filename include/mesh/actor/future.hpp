#pragma once
/// mesh::future<T>: the result of call_async. Waitable with a deadline, or continued with then().
/// Dropping a future never blocks.

#include <mesh/actor/call_state.hpp>
#include <mesh/actor/deadline_scheduler.hpp>
#include <mesh/actor/reply.hpp>
#include <mesh/core/clock.hpp>
#include <mesh/core/error.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace mesh {

namespace detail {
[[gnu::cold, gnu::noinline]] inline error get_timed_out(std::chrono::milliseconds d) {
  return fail(errc::timeout, "no result within " + std::to_string(d.count()) +
                                 " ms (the call goes on until its deadline; get() again to wait longer)");
}
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
      if (!s->completed()) {
        if (auto sched = sched_.lock()) {
          std::weak_ptr<detail::call_state<value_type>> w = s;
          sched->at(s->deadline(), [w] {
            if (auto st = w.lock()) st->complete(fail(errc::timeout, "call did not answer before its deadline"));
          });
        }
      }
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
  std::shared_ptr<detail::call_state<value_type>> state_;
  std::weak_ptr<detail::deadline_scheduler> sched_;
};

}  // namespace mesh
