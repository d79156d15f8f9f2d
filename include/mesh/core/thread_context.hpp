#pragma once
/// What a thread is doing for the runtime, in one place. Threads hand each other work and
/// completions through a few per-thread settings (the worker pool tells a waiting handler it may
/// help; the cluster I/O thread collects the activations its reads make runnable, stores replies
/// while it holds its sockets, batches the answers of handlers it runs). They all live in one
/// thread_local `thread_context`, and are set only through `scoped_context`, whose scope shows at
/// the call site what the code below it will see. The interfaces those settings point to are
/// declared here too, so the transport and the actor layer meet on this header alone.

#include <mesh/core/clock.hpp>

#include <sys/random.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace mesh::detail {

/// Something a worker can run: an activation with messages waiting. The queue holds no reference:
/// whoever submits guarantees the runnable outlives its run() (an activation stays in its table
/// while scheduled, and the node stops the pool before destroying the tables).
struct runnable {
  virtual void run() = 0;
  virtual ~runnable() = default;
};

/// Runnables a thread collects instead of queuing them: while the cluster I/O thread reads, the
/// activations its requests make runnable land here, and it runs them itself once it has
/// released the sockets (see transport::io_loop, "handlers run inline").
struct inline_batch {
  static constexpr int capacity = 64;
  runnable* items[capacity];
  int n = 0;
  runnable const* only = nullptr;  // when set, only this runnable is collected (its own resubmit)
};

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

/// A transport whose sockets a thread waiting for a remote reply may read itself
/// (cluster::service). Without it, a reply wakes the I/O thread, which wakes the caller: two
/// wake-ups in a row. With it, the caller sleeps in poll(2) on the transport's fd as well, and the
/// one that wakes first reads (see call_state::wait_reading).
class reply_reader {
 public:
  /// Reads and dispatches what the sockets hold, unless another thread is doing so; true when it
  /// read (the fd then signals the next message).
  virtual bool try_read() = 0;
  /// Readable when a message may be waiting.
  virtual int readable_fd() const noexcept = 0;
  /// A thread starts or stops watching readable_fd() (the transport's own thread need not watch
  /// it meanwhile: two threads woken for one reply compete for the cores).
  virtual void watching(bool on) noexcept = 0;
  /// How long a waiter polls before it sleeps (node_config::reply_spin; see reply_spin).
  virtual clock::duration spin_budget() const noexcept { return clock::duration::zero(); }

 protected:
  ~reply_reader() = default;
};

/// A call completion stored while a transport held its I/O lock, published once it has released
/// it (publishing wakes a waiter and may run a continuation: never under the lock).
struct stored_completion {
  std::shared_ptr<void> state;     // keeps the call state alive until published
  void (*publish)(void* state);    // call_state<R>::publish_stored
};
using stored_completion_list = std::vector<stored_completion>;

/// Work a thread holds back to run itself (the I/O thread's inline batch, cluster::service). It
/// is handed to the worker pool before the thread blocks in a wait: a handler that waits must
/// not keep the activations queued behind it from running (it may be waiting for one of them).
class deferred_work {
 public:
  virtual void release_all() = 0;

 protected:
  ~deferred_work() = default;
};



/// A thread's settings (all null on a thread the runtime does not own).
struct thread_context {
  wait_helper* helper = nullptr;                    ///< worker threads: the pool (help while waiting)
  stored_completion_list* publish_later = nullptr;  ///< a transport dispatching answers under its I/O lock
  deferred_work* deferred = nullptr;                ///< the I/O thread running handlers inline
  inline_batch* inline_target = nullptr;            ///< the I/O thread reading requests
  void const* answer_collector = nullptr;           ///< the transport whose answers this thread batches
  std::uint64_t chain = 0;                          ///< the call chain of the handler running here (0: none)
};

/// The calling thread's context.
inline thread_context& this_thread_context() noexcept {
  thread_local thread_context c;
  return c;
}

/// Sets one setting of the calling thread's context for the lifetime of the guard, then restores
/// what was there (settings nest: an inline handler may read replies of another node).
template <class T>
class scoped_context {
 public:
  scoped_context(T* thread_context::*setting, T* value) noexcept
      : slot_(this_thread_context().*setting), outer_(slot_) {
    slot_ = value;
  }
  scoped_context(scoped_context const&) = delete;
  scoped_context& operator=(scoped_context const&) = delete;
  ~scoped_context() { slot_ = outer_; }

 private:
  T*& slot_;
  T* outer_;
};

/// Readers of the settings (a plain load of the thread's context).
inline wait_helper* current_wait_helper() noexcept { return this_thread_context().helper; }
inline stored_completion_list* publish_later() noexcept { return this_thread_context().publish_later; }
inline deferred_work* current_deferred() noexcept { return this_thread_context().deferred; }
inline inline_batch* inline_target() noexcept { return this_thread_context().inline_target; }
inline std::uint64_t current_chain() noexcept { return this_thread_context().chain; }

/// A fresh call-chain id: unique in the cluster with overwhelming odds (a per-thread random
/// 64-bit start, then splitmix64 steps), never 0.
inline std::uint64_t fresh_chain() noexcept {
  thread_local std::uint64_t state = [] {
    std::uint64_t v = 0;
    if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v))
      v = static_cast<std::uint64_t>(clock::now().time_since_epoch().count()) ^ reinterpret_cast<std::uintptr_t>(&v);
    return v;
  }();
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return z ? z : 1;
}

}  // namespace mesh::detail
