#pragma once
/// mesh::task<R>: what a coroutine handler returns.
///
///   mesh::task<long> handle(Transfer const& t, mesh::context& ctx) {
///     auto r = co_await ctx.call_async<Account>(t.from, Withdraw{t.amount});
///     if (!r) throw mesh::rejected{r.error().message};
///     co_return r->value;
///   }
///
/// The reply type is R. While the task waits in `co_await` it holds no thread, and its activation
/// takes no other message until the task has finished (non-reentrant); then the reply goes to the
/// caller (local or remote) and the activation takes its next message. Exceptions behave as in
/// any handler: mesh::rejected keeps the activation, anything else discards it.

#include <mesh/actor/activation.hpp>
#include <mesh/actor/future.hpp>
#include <mesh/actor/pool.hpp>
#include <mesh/core/error.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace mesh {

template <class R>
class task;

namespace detail {

struct task_promise_base;

/// Where a handler's return value lands before it becomes a reply. A coroutine handler leaves
/// its task here instead (created suspended; the envelope starts it).
template <class R>
struct value_slot {
  std::optional<R> v;
  task_promise_base* task = nullptr;
};
template <>
struct value_slot<void> {
  task_promise_base* task = nullptr;
};

/// Reaches a future's state (for the awaiter of a coroutine handler).
struct future_access {
  template <class T>
  static auto& state(future<T>& f) noexcept { return f.state_; }
  template <class T>
  static auto& sched(future<T>& f) noexcept { return f.sched_; }
};

/// Resumes a suspended task on the node's workers. Shared by the task and the continuations of
/// the calls it awaits; close() (the task finished or was destroyed) turns late completions into
/// no-ops, so a continuation never touches a destroyed coroutine frame.
class task_gate final : public runnable, public std::enable_shared_from_this<task_gate> {
 public:
  task_gate(std::coroutine_handle<> h, worker_pool& pool) noexcept : h_(h), pool_(&pool) {}

  /// Runs `store()` while the task is alive; when it returns true, queues the task's resumption.
  template <class Store>
  void complete(Store&& store) {
    std::lock_guard lk(m_);
    if (!h_ || !store()) return;
    keep_ = shared_from_this();  // the pool holds a plain pointer
    pool_->submit(this);
  }
  void run() override {
    std::coroutine_handle<> h;
    std::shared_ptr<task_gate> self;
    {
      std::lock_guard lk(m_);
      h = h_;
      self = std::move(keep_);
    }
    if (h) h.resume();
  }
  void close() noexcept {
    std::shared_ptr<task_gate> drop;  // released after the lock: it may be the last reference
    std::lock_guard lk(m_);
    h_ = {};
    drop = std::move(keep_);
  }

 private:
  std::mutex m_;
  std::coroutine_handle<> h_;
  worker_pool* pool_;
  std::shared_ptr<task_gate> keep_;
};

/// The untyped part of a task's promise: how it was started, where it resumes, how it finishes.
struct task_promise_base {
  static constexpr int starting = 0;   // the envelope's first resume() has not returned yet
  static constexpr int suspended = 1;  // it returned with the task waiting: a worker finishes it
  static constexpr int done = 2;       // the task reached its final suspend point

  std::coroutine_handle<> handle;
  std::atomic<int> phase{starting};
  std::exception_ptr ex;
  envelope_base* env = nullptr;
  activation_base* act = nullptr;
  std::shared_ptr<task_gate> gate;
  void (*finish)(task_promise_base&, bool async) = nullptr;

  task_promise_base() = default;
  task_promise_base(task_promise_base const&) = delete;
  task_promise_base& operator=(task_promise_base const&) = delete;

  // Lazy: the envelope starts the task once it knows where the reply goes (see start_task).
  std::suspend_always initial_suspend() noexcept { return {}; }
  auto final_suspend() noexcept {
    struct final_awaiter {
      task_promise_base& p;
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<>) noexcept {
        // Finished after its starter returned: finish here (this destroys the frame). Finished
        // during the starter's resume(): the starter finishes it.
        if (p.phase.exchange(done, std::memory_order_acq_rel) == suspended) p.finish(p, true);
      }
      void await_resume() noexcept {}
    };
    return final_awaiter{*this};
  }
  void unhandled_exception() noexcept { ex = std::current_exception(); }

  /// co_await on a mesh::future inside a handler resumes on the node's workers.
  template <class T>
  auto await_transform(future<T>& f) noexcept {
    return future_awaiter<T>{future_access::state(f), future_access::sched(f), this};
  }
  template <class T>
  auto await_transform(future<T>&& f) noexcept {
    return future_awaiter<T>{std::move(future_access::state(f)), std::move(future_access::sched(f)), this};
  }
  template <class U>
  U&& await_transform(U&& other) noexcept {
    return std::forward<U>(other);
  }

  std::shared_ptr<task_gate> const& gate_for() {
    if (!gate) gate = std::make_shared<task_gate>(handle, act->core().pool());
    return gate;
  }

  template <class T>
  struct future_awaiter {
    using value_type = result<reply<T>>;
    std::shared_ptr<call_state<value_type>> s;
    std::weak_ptr<deadline_scheduler> sched;
    task_promise_base* p;
    std::optional<value_type> v{};
    std::atomic<bool> flag{false};

    bool await_ready() const noexcept { return !s || s->completed(); }
    bool await_suspend(std::coroutine_handle<>) {
      auto g = p->gate_for();
      arm_deadline(s, sched);
      s->then(std::function<void(value_type)>([this, g](value_type r) {
        g->complete([&] {
          v.emplace(std::move(r));
          return flag.exchange(true);  // true: the task is suspended, resume it on a worker
        });
      }));
      return !flag.exchange(true);  // false: the result came meanwhile, go on now
    }
    value_type await_resume() {
      if (!s) return fail(errc::invalid_argument, "co_await on an empty mesh::future");
      if (v) return std::move(*v);
      return s->take();
    }
  };
};

template <class R>
struct task_promise_value : task_promise_base {
  value_slot<R> result;
  template <class U = R>
  void return_value(U&& u) {
    result.v.emplace(std::forward<U>(u));
  }
};
template <>
struct task_promise_value<void> : task_promise_base {
  value_slot<void> result;
  void return_void() noexcept {}
};

/// The error a task's exception becomes, as in activation::run_with: rejected keeps the
/// instance; anything else discards it. Not a template.
[[gnu::cold, gnu::noinline]] inline error task_threw(std::exception_ptr ex, activation_base& act) {
  try {
    std::rethrow_exception(ex);
  } catch (rejected const& r) {
    return was_rejected(r);
  } catch (...) {
    act.discard_instance();
    return threw(act.actor_name(), act.id(), "handler", std::current_exception());
  }
}

/// Completes the task's request with its value or error and destroys the coroutine. `async`:
/// it finished after its starter returned, so the envelope is released here and the activation
/// takes its next message.
template <class R>
void finish_task(task_promise_base& base, bool async) {
  auto& p = static_cast<task_promise_value<R>&>(base);
  envelope_base* const e = p.env;
  activation_base* const act = p.act;
  value_slot<R> slot;
  std::optional<error> err;
  if (p.ex) err = task_threw(p.ex, *act);
  else if constexpr (!std::is_void_v<R>) slot.v = std::move(p.result.v);
  if (p.gate) p.gate->close();
  p.handle.destroy();  // p is gone from here on
  if (err) e->fail(std::move(*err));
  else e->reply(&slot, *act);
  if (async) {
    e->dispose();
    act->task_finished();
  }
}

/// Destroys a task still waiting when its activation goes (the node stopped and its workers
/// with it): its request fails with shutting_down.
inline void abandon_task(void* t) noexcept {
  auto& p = *static_cast<task_promise_base*>(t);
  if (p.gate) p.gate->close();
  envelope_base* const e = p.env;
  p.handle.destroy();
  try {
    e->fail(fail(errc::shutting_down, "node stopped while a coroutine handler was waiting"));
  } catch (...) {  // out of memory while failing: the caller times out instead
  }
  e->dispose();
}

/// Starts a coroutine handler's task for envelope `e` on activation `act` (the caller holds it).
/// Returns true when the task suspended: it finishes later on a worker (finish_task) and `e`
/// stays alive until then; false when it finished here and `e` is completed.
[[gnu::noinline]] inline bool start_task(task_promise_base& p, envelope_base& e, activation_base& act) {
  p.env = &e;
  p.act = &act;
  act.task_suspended(&p, &abandon_task);  // before resume(): another worker may finish it
  p.handle.resume();
  if (p.phase.exchange(task_promise_base::suspended, std::memory_order_acq_rel) != task_promise_base::done) return true;
  act.task_suspended(nullptr, nullptr);
  p.finish(p, false);
  return false;
}

}  // namespace detail

/// The return type of a coroutine handler: `mesh::task<R> handle(Msg const&, mesh::context&)`
/// replies with R (`mesh::task<void>`: an empty reply). Inside it, `co_await` on a mesh::future
/// (e.g. `ctx.call_async<B>(...)`) frees the worker until the call completes, then resumes on one
/// of the node's workers. The task starts when the runtime runs the message (lazily, not when
/// handle() returns) and runs to its first `co_await` on that thread. Only the runtime runs a
/// task: it is a handler's return value, not something to await or keep. Move-only.
template <class R>
class [[nodiscard]] task {
 public:
  /// The coroutine machinery (internal; C++ looks it up by this name).
  struct promise_type : detail::task_promise_value<R> {
    promise_type() noexcept { this->finish = &detail::finish_task<R>; }
    /// Internal: the task handle() returns.
    task get_return_object() noexcept {
      this->handle = std::coroutine_handle<promise_type>::from_promise(*this);
      return task(this);
    }
  };

  /// Takes over `o`'s coroutine.
  task(task&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  /// Destroys this task's coroutine (if not started) and takes over `o`'s.
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  /// Destroys a coroutine the runtime did not take.
  ~task() { reset(); }

  /// Hands the (not yet started) coroutine to the runtime. Internal.
  detail::task_promise_base* release() noexcept { return std::exchange(p_, nullptr); }

 private:
  explicit task(promise_type* p) noexcept : p_(p) {}
  void reset() noexcept {
    if (auto* p = std::exchange(p_, nullptr)) p->handle.destroy();
  }
  promise_type* p_ = nullptr;
};

}  // namespace mesh
