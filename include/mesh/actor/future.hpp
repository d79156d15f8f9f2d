#pragma once
/// mesh::future<T>: the result of call_async. Waitable with a deadline, or continued with then().
/// Dropping a future never blocks.

#include <mesh/actor/reply.hpp>
#include <mesh/core/clock.hpp>
#include <mesh/core/error.hpp>
#include <mesh/core/thread_context.hpp>
#include <mesh/core/log.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <climits>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <new>

#if defined(__linux__)
#include <linux/futex.h>   // FUTEX_WAIT_BITSET_PRIVATE, FUTEX_WAKE_PRIVATE
#include <poll.h>          // poll (reply_reader waits)
#include <sys/eventfd.h>   // eventfd (reply_reader waits)
#include <sys/syscall.h>   // SYS_futex
#include <time.h>          // clock_gettime(CLOCK_MONOTONIC_COARSE)
#include <unistd.h>        // syscall
#endif

namespace mesh {

namespace detail {

#if defined(__linux__)
/// This thread's eventfd, on which it sleeps in call_state::wait_reading (-1 when none could be
/// made: the caller then parks as usual). It outlives the thread: a call the thread gave up
/// waiting for still names it (publish() writes the fd of the call's last wait), so at thread
/// exit it goes to a pool that later threads take from, and is never closed. Its number is thus
/// never reused by another file; a late write only wakes its next owner once, spuriously.
inline int thread_wake_fd() noexcept {
  struct pool {
    std::mutex m;
    std::vector<int> fds;
  };
  static pool* const spare = new pool;  // never destroyed: thread exits may outlive statics
  struct holder {
    int fd = -1;
    holder() noexcept {
      try {
        std::lock_guard lk(spare->m);
        if (!spare->fds.empty()) {
          fd = spare->fds.back();
          spare->fds.pop_back();
        }
      } catch (...) {
      }
      if (fd < 0) fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    ~holder() {
      if (fd < 0) return;
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(fd, &v, sizeof v);  // drop a count left for this thread
      try {
        std::lock_guard lk(spare->m);
        spare->fds.push_back(fd);
      } catch (...) {  // out of memory: keep it open anyway (closing could let its number be reused)
      }
    }
  };
  thread_local holder h;
  return h.fd;
}
#endif

/// Spin-then-sleep for threads that wait for remote replies (call_state::wait_reading). Waking a
/// thread that sleeps in poll(2) costs tens of microseconds on a virtual machine (~40 us on our
/// 2-core VMs, as much as a loopback round trip), and a reply from a nearby node usually comes
/// sooner than that: a waiter first polls the sockets without sleeping for up to the transport's
/// spin_budget(). Spinning burns a core, so it is adaptive and bounded:
/// a thread spins while at least a quarter of its recent spins ended with a message (an average
/// weighted 1/8 per spin); otherwise only every 16th wait spins, to notice when replies become
/// quick again (far nodes, slow handlers or an idle pipeline stop it). At most half the cores spin
/// at once (none on a single core).
class reply_spin {
 public:
  /// Claims a spinning slot for a wait on this thread; false: sleep at once.
  static bool begin(clock::duration budget) noexcept {
    if (budget <= clock::duration::zero()) return false;
    auto& me = mine();
    if (me.hits < 0.25f && (++me.skipped & 15) != 0) return false;
    auto& n = spinners();
    for (int v = n.load(std::memory_order_relaxed); v < max_spinners();)
      if (n.compare_exchange_weak(v, v + 1, std::memory_order_relaxed)) return true;
    return false;
  }
  /// Ends a spin that `hit` (a message came) or not.
  static void end(bool hit) noexcept {
    spinners().fetch_sub(1, std::memory_order_relaxed);
    auto& h = mine().hits;
    h += ((hit ? 1.0f : 0.0f) - h) / 8;
  }
  /// How many threads may spin at once: half the cores (none on one core, where a spinning
  /// waiter would only keep the reply's threads from running).
  static int max_spinners() noexcept {
    static int const m = static_cast<int>(std::thread::hardware_concurrency() / 2);
    return m;
  }

 private:
  struct stats {
    float hits = 1.0f;      // share of recent spins that ended with a message
    unsigned skipped = 0;  // waits that did not spin (every 16th spins anyway)
  };
  static stats& mine() noexcept {
    thread_local stats s;
    return s;
  }
  static std::atomic<int>& spinners() noexcept {
    static std::atomic<int> n{0};
    return n;
  }
};

/// errc::timeout for a call to (actor, id); out of line, built only when it happens.
[[gnu::cold, gnu::noinline]] inline error timed_out(std::string_view actor, std::string_view id) {
  if (actor.empty()) return fail(errc::timeout, "call did not answer before its deadline");
  return fail(errc::timeout, "call to actor '" + std::string(actor) + "' id '" + std::string(id) +
                                 "' did not answer before its deadline");
}

/// Converts to what `f()` returns by calling it, so `T x(in_place_from<F>{f})` can build f's
/// result directly in x (g++ and clang elide the move through the conversion function).
template <class F>
struct in_place_from {
  F& f;
  operator decltype(std::declval<F&>()())() const { return f(); }
};

/// Parking a thread on a 32-bit atomic word: futex on Linux, striped mutex/condition variable
/// buckets elsewhere. Callers re-check their condition after every wake-up (wake-ups may be
/// spurious).
namespace parking {
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) && std::atomic<std::uint32_t>::is_always_lock_free);
#if defined(__linux__)
/// Sleeps while `w` holds `expected`, until woken or `until` (a steady_clock time).
inline void wait(std::atomic<std::uint32_t>& w, std::uint32_t expected, clock::time_point until) noexcept {
  auto* addr = reinterpret_cast<std::uint32_t*>(&w);
  if (until == clock::time_point::max()) {
    ::syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
    return;
  }
  // steady_clock is CLOCK_MONOTONIC, the clock FUTEX_WAIT_BITSET's absolute timeout uses.
  auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count();
  if (ns <= 0) return;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  ::syscall(SYS_futex, addr, FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
}
/// Wakes every thread parked on `w`.
inline void wake_all(std::atomic<std::uint32_t>& w) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}
#else
struct bucket {
  std::mutex m;
  std::condition_variable cv;
};
inline bucket& bucket_for(void const* p) noexcept {
  static bucket buckets[64];
  return buckets[(reinterpret_cast<std::uintptr_t>(p) >> 6) % 64];
}
inline void wait(std::atomic<std::uint32_t>& w, std::uint32_t expected, clock::time_point until) {
  auto& b = bucket_for(&w);
  std::unique_lock lk(b.m);
  if (w.load(std::memory_order_acquire) != expected) return;
  if (until == clock::time_point::max()) b.cv.wait(lk);
  else b.cv.wait_until(lk, until);
}
inline void wake_all(std::atomic<std::uint32_t>& w) {
  auto& b = bucket_for(&w);
  { std::lock_guard lk(b.m); }  // a waiter is either before its re-check or already waiting
  b.cv.notify_all();
}
#endif
}  // namespace parking

/// Shared state of one call. The first completion wins (reply, error, timeout or shutdown); later
/// ones are ignored, so a late reply after a timeout is dropped safely. One atomic word carries
/// the state; a waiter spins briefly, then parks on the word (no mutex, no condition variable).
template <class R>
class call_state {
  static constexpr std::uint32_t claimed = 1;  // a completion won; the value is being stored
  static constexpr std::uint32_t ready = 2;    // the value is stored
  static constexpr std::uint32_t waiting = 4;  // a thread is (about to be) parked on state_
  static constexpr std::uint32_t has_cont = 8; // cont_ is set

 public:
  explicit call_state(clock::time_point deadline) : deadline_(deadline) {}
  call_state(call_state const&) = delete;
  call_state& operator=(call_state const&) = delete;
  ~call_state() {
    if (has_value_) value().~R();
  }

  /// Completes the call; returns false when it was already completed.
  bool complete(R&& r) {
    if (!claim()) return false;
    ::new (static_cast<void*>(storage_)) R(std::move(r));
    publish();
    return true;
  }

  /// Completes the call with the value (an R's value type, e.g. reply<T>) that `make()` returns,
  /// built in place; `make` runs only when this completion wins. Returns false when the call was
  /// already completed.
  template <class F>
  bool complete_with(F&& make) {
    if (!store_with(make)) return false;
    publish();
    return true;
  }

  /// The first half of complete_with: claims the call and builds its value, but wakes nobody and
  /// runs no continuation, so it may run under a transport's lock (see publish_later). Returns
  /// false when the call was already completed; else publish_stored() must follow.
  template <class F>
  bool store_with(F&& make) {
    if (!claim()) return false;
    try {
      ::new (static_cast<void*>(storage_)) R(in_place_from<std::remove_reference_t<F>>{make});
    } catch (...) {  // building the reply threw (out of memory): still complete, without allocating
      ::new (static_cast<void*>(storage_)) R(error{errc::actor_failed, std::string()});
    }
    return true;
  }
  /// The second half: wakes the waiter, runs a registered continuation.
  void publish_stored() { publish(); }

  bool completed() const noexcept { return state_.load(std::memory_order_acquire) & claimed; }
  clock::time_point deadline() const noexcept { return deadline_; }

  /// Waits until completed or the deadline passes; on expiry completes with errc::timeout.
  R take(std::string_view actor = {}, std::string_view id = {}) {
    if (auto* h = current_wait_helper(); h && !completed()) h->help_while_waiting([this] { return completed(); }, deadline_);
    if (!is_ready()) {
      // A local reply usually arrives within microseconds: watch for it briefly before sleeping.
      // A remote one takes a network round trip: spinning would only take a core from the
      // threads carrying it.
      for (int i = 0; i < 128 && !reader_ && !is_ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if ((i & 31) == 31) std::this_thread::yield();
      }
      if (!wait_until(deadline_)) {
        complete(timed_out(actor, id));
        // When another thread claimed the call just before the deadline, our timeout lost the
        // race: its result is being stored now; wait for it rather than report a missing value.
        wait_until(clock::time_point::max());
      }
    }
    // The value is there unless a continuation already consumed it.
    if (!has_value_) return fail(errc::invalid_argument, "future already consumed by then()");
    R out = std::move(value());
    value().~R();
    has_value_ = false;
    return out;
  }

  /// Waits (without consuming) until completed or `until`; true when completed.
  bool wait_until(clock::time_point until) {
    if (auto* d = current_deferred(); d && !is_ready()) d->release_all();
#if defined(__linux__)
    if (reader_ && !current_wait_helper()) return wait_reading(until);
#endif
    return park_until(until);
  }

  /// Lets the thread that waits for this call read `r`'s sockets itself (a remote call; `r`
  /// outlives the wait, or the call completes before `r` goes away). Set before the call is
  /// sent. `read_first`: read before the first sleep (a future, whose reply may be there).
  void read_by(reply_reader* r, bool read_first = false) noexcept {
    reader_ = r;
    read_first_ = read_first;
  }

  /// Registers a continuation run by whoever completes the call (or now, if already complete).
  void then(std::function<void(R)> f) {
    cont_ = std::move(f);
    if (state_.fetch_or(has_cont, std::memory_order_acq_rel) & ready) run_continuation();
  }

 private:
  bool claim() noexcept { return !(state_.fetch_or(claimed, std::memory_order_acq_rel) & claimed); }
  /// Marks the stored value ready, wakes parked waiters, runs a registered continuation.
  void publish() {
    has_value_ = true;
    // seq_cst with the waiter's store of wake_fd_ and its next load of state_: either it sees
    // `ready`, or we see the fd it sleeps on now (see wait_reading and park_until).
    auto const old = state_.fetch_or(ready, std::memory_order_seq_cst);
    if (old & waiting) {
#if defined(__linux__)
      int const fd = wake_fd_.load(std::memory_order_seq_cst);
      if (fd >= 0) {  // the waiter sleeps in poll(2) (wait_reading), unless it is us
        if (fd != thread_wake_fd()) {
          std::uint64_t one = 1;
          [[maybe_unused]] auto r = ::write(fd, &one, sizeof one);
        }
      } else
#endif
        parking::wake_all(state_);
    }
    if (old & has_cont) run_continuation();
  }
  bool is_ready() const noexcept { return state_.load(std::memory_order_acquire) & ready; }
  R& value() noexcept { return *std::launder(reinterpret_cast<R*>(storage_)); }

  /// Parks until the value is stored or `until` passes; true when it is stored.
  bool park_until(clock::time_point until) {
    // An earlier wait of this call may have slept in poll(2) (wait_reading): from now on the
    // reply must wake the futex, not that eventfd.
    if (wake_fd_.load(std::memory_order_relaxed) >= 0) wake_fd_.store(-1, std::memory_order_seq_cst);
    auto s = state_.load(std::memory_order_seq_cst);
    while (!(s & ready)) {
      if (!(s & waiting)) {
        if (!state_.compare_exchange_weak(s, s | waiting, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        s |= waiting;
      }
      if (until != clock::time_point::max() && clock::now() >= until) return false;
      parking::wait(state_, s, until);
      s = state_.load(std::memory_order_acquire);
    }
    return true;
  }

#if defined(__linux__)
  /// park_until for a call whose transport the waiter may read: sleeps in poll(2) on the
  /// transport's fd and this thread's eventfd (which publish() writes instead of a futex wake).
  /// When the fd wakes us, we read the sockets ourselves, so the reply reaches us without a
  /// second thread in between; when another thread is reading, we wait for the eventfd only.
  bool wait_reading(clock::time_point until) {
    int const efd = thread_wake_fd();
    if (efd < 0) {
      reader_ = nullptr;
      return park_until(until);
    }
    // Stored on every wait (a later wait may come after a timeout, or from another thread) and
    // paired with publish(): seq_cst store here, seq_cst load of state_ below.
    wake_fd_.store(efd, std::memory_order_seq_cst);
    struct watch {
      reply_reader* r;
      bool on = true;
      explicit watch(reply_reader* rr) : r(rr) { r->watching(true); }
      void stop() {
        if (on) r->watching(false);
        on = false;
      }
      ~watch() { stop(); }
    } w{reader_};
    auto const spin_budget = reader_->spin_budget();  // once per wait: only its first sleep spins
    bool may_spin = true;
    auto s = state_.load(std::memory_order_seq_cst);
    while (!(s & ready)) {
      if (!(s & waiting)) {
        if (!state_.compare_exchange_weak(s, s | waiting, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        s |= waiting;
      }
      // An asynchronous call's reply is often there already (calls pipelined): read before the
      // first sleep. (A synchronous caller has just sent: its reply cannot be there yet.)
      if (read_first_ && w.on) {
        read_first_ = false;
        if (!reader_->try_read()) w.stop();
        s = state_.load(std::memory_order_acquire);
        if (s & ready) break;
      }
      int timeout = -1;
      if (until != clock::time_point::max()) {
        auto const left = until - clock::now();
        if (left <= clock::duration::zero()) return false;
        // Rounded up: poll(2) counts whole milliseconds, and waking early would spin.
        timeout = static_cast<int>(std::min<std::int64_t>(
            std::chrono::ceil<std::chrono::milliseconds>(left).count(), 24 * 3600 * 1000));
      }
      pollfd fds[2] = {{efd, POLLIN, 0}, {reader_->readable_fd(), POLLIN, 0}};
      int rc = 0;
      // Before the first sleep: poll without sleeping for a while (see reply_spin).
      if (may_spin && reply_spin::begin(spin_budget)) {
        auto const spin_end = std::min(until, clock::now() + spin_budget);
        do {
          rc = ::poll(fds, w.on ? 2 : 1, 0);
          if (rc != 0) break;
#if defined(__x86_64__) || defined(__i386__)
          for (int k = 0; k < 32; ++k) __builtin_ia32_pause();
#endif
        } while (clock::now() < spin_end);
        reply_spin::end(rc > 0);
      }
      may_spin = false;
      if (rc == 0) rc = ::poll(fds, w.on ? 2 : 1, timeout);
      if (rc > 0 && (fds[0].revents & POLLIN)) {
        std::uint64_t v;
        [[maybe_unused]] auto r = ::read(efd, &v, sizeof v);
      }
      // Read when the fd says a message may be here. If another thread holds the sockets, it
      // reads (and completes us, waking the eventfd): stop watching the fd, which would stay
      // readable until that thread is done and make poll(2) spin, and say so, so that the I/O
      // thread watches it again.
      if (rc > 0 && w.on && (fds[1].revents & (POLLIN | POLLERR | POLLNVAL)) && !reader_->try_read()) w.stop();
      s = state_.load(std::memory_order_acquire);
    }
    return true;
  }
#endif

  /// Runs cont_ with the value; called once, by whichever of complete/then comes second.
  void run_continuation() {
    if (!has_value_) return;
    R v = std::move(value());
    value().~R();
    has_value_ = false;
    auto cont = std::move(cont_);
    cont(std::move(v));
  }

  std::atomic<std::uint32_t> state_{0};
  bool has_value_ = false;  // storage_ holds an R (written before `ready`, by one thread at a time)
  reply_reader* reader_ = nullptr;  // see read_by
  bool read_first_ = false;         // see read_by and wait_reading
  std::atomic<int> wake_fd_{-1};    // the waiter's eventfd while it is in wait_reading
  clock::time_point deadline_;
  alignas(R) unsigned char storage_[sizeof(R)];
  std::function<void(R)> cont_;
};

/// Registers deadlines of continued futures so a continuation always runs (with errc::timeout
/// at the latest). Implemented by the node runtime.
struct deadline_scheduler {
  virtual void at(clock::time_point when, std::function<void()> fire) = 0;
  /// Writes one line to the node's log (node_config::logger).
  virtual void report(std::string_view line) noexcept = 0;
  virtual ~deadline_scheduler() = default;
};

/// A continuation's exception has no caller to go to, and the thread that ran it (the I/O
/// thread, a worker, the timer, another call's waiter) must go on: it is logged through the
/// node's logger (stderr once the node is gone).
[[gnu::cold, gnu::noinline]] inline void continuation_threw(std::weak_ptr<deadline_scheduler> const& sched,
                                                             std::exception_ptr ep) noexcept {
  try {
    auto const line = "a future's continuation threw: " + exception_text(ep) + " (ignored; continuations must not throw)";
    if (auto s = sched.lock()) s->report(line);
    else write_log({}, "mesh", line);
  } catch (...) {  // out of memory while reporting: nothing more to do
  }
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
