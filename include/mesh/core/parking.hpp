#pragma once
/// Parking a thread until another wakes it: detail::parking (a futex, or striped mutex/condition
/// variable buckets off Linux) for waits on an atomic word, and detail::thread_wake_fd() (Linux),
/// the eventfd a thread sleeps on while it also polls other descriptors.

#include <mesh/core/clock.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#if defined(__linux__)
#include <linux/futex.h>   // FUTEX_WAIT_BITSET_PRIVATE, FUTEX_WAKE_PRIVATE
#include <sys/eventfd.h>   // eventfd
#include <sys/syscall.h>   // SYS_futex
#include <time.h>          // timespec
#include <unistd.h>        // syscall, read
#endif

namespace mesh::detail {

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

}  // namespace mesh::detail
