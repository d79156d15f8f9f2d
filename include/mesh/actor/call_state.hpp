#pragma once
/// detail::call_state<R>: the shared state of one call, completed once (reply, error, timeout or
/// shutdown) and waited for by spinning, parking or reading the transport.

#include <mesh/actor/reply_spin.hpp>
#include <mesh/core/clock.hpp>
#include <mesh/core/error.hpp>
#include <mesh/core/in_place_from.hpp>
#include <mesh/core/log.hpp>
#include <mesh/core/metrics.hpp>
#include <mesh/core/parking.hpp>
#include <mesh/core/thread_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <poll.h>     // poll (reply_reader waits)
#include <unistd.h>   // write
#endif

namespace mesh::detail {

/// errc::timeout for a call to (actor, id); out of line, built only when it happens.
[[gnu::cold, gnu::noinline]] inline error timed_out(std::string_view actor, std::string_view id) {
  if (actor.empty()) return fail(errc::timeout, "call did not answer before its deadline");
  return fail(errc::timeout, "call to actor '" + std::string(actor) + "' id '" + std::string(id) +
                                 "' did not answer before its deadline");
}

/// Where a call's outcome is counted (node::metrics()); set before the call is sent. No registry:
/// not counted here (the caller counted it, or metrics are off).
struct call_meter {
  metrics_registry* reg = nullptr;
  std::size_t actor = 0;
  bool remote = false;
  clock::time_point start{};  // time_point{}: not timed
};

/// Shared state of one call. The first completion wins (reply, error, timeout or shutdown); later
/// ones are ignored, so a late reply after a timeout is dropped safely. One atomic word carries
/// the state; a waiter spins briefly, then parks on the word (no mutex, no condition variable).
template <class R>
class call_state {
  static constexpr std::uint32_t claimed = 1;  // a completion won; the value is being stored
  static constexpr std::uint32_t ready = 2;    // the value is stored
  static constexpr std::uint32_t waiting = 4;  // a thread is (about to be) parked on state_
  static constexpr std::uint32_t has_cont = 8; // cont_ is set

  // A local reply usually comes within a few microseconds: a waiter checks this many times (a
  // pause instruction apart, yielding every local_spin_yield_every) before it parks.
  static constexpr int local_spin_checks = 128;
  static constexpr int local_spin_yield_every = 32;  // a power of two
  // Pause instructions between two polls of the sockets while spinning for a remote reply.
  static constexpr int pauses_per_poll = 32;

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
    count();
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
    count();
    return true;
  }
  /// The second half: wakes the waiter, runs a registered continuation.
  void publish_stored() { publish(); }

  /// Counts the call's outcome when it completes (once, by whichever completion wins).
  void meter(call_meter const& m) noexcept { meter_ = m; }

  bool completed() const noexcept { return state_.load(std::memory_order_acquire) & claimed; }
  clock::time_point deadline() const noexcept { return deadline_; }

  /// Waits until completed or the deadline passes; on expiry completes with errc::timeout.
  R take(std::string_view actor = {}, std::string_view id = {}) {
    if (auto* h = current_wait_helper(); h && !completed()) h->help_while_waiting([this] { return completed(); }, deadline_);
    if (!is_ready()) {
      // A local reply usually arrives within microseconds: watch for it briefly before sleeping.
      // A remote one takes a network round trip: spinning would only take a core from the
      // threads carrying it.
      for (int i = 0; i < local_spin_checks && !reader_ && !is_ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if ((i & (local_spin_yield_every - 1)) == local_spin_yield_every - 1) std::this_thread::yield();
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
  void count() noexcept {
    if (!meter_.reg) return;
    if constexpr (requires(R const& r) { r.has_value(); r.error(); }) {
      auto const& v = value();
      if (v.has_value()) meter_.reg->record(meter_.actor, meter_.remote, errc::ok, meter_.start);
      else meter_.reg->record_error(meter_.actor, meter_.remote, v.error(), meter_.start);
    }
  }
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
          for (int k = 0; k < pauses_per_poll; ++k) __builtin_ia32_pause();
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
  call_meter meter_;
  alignas(R) unsigned char storage_[sizeof(R)];
  std::function<void(R)> cont_;
};

}  // namespace mesh::detail
