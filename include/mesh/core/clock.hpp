#pragma once
/// The clocks mesh times things with: detail::clock (steady_clock, CLOCK_MONOTONIC on Linux) and a
/// cheap coarse reading of it for bookkeeping that tolerates a kernel tick of error.

#include <chrono>

#if defined(__linux__)
#include <time.h>  // clock_gettime(CLOCK_MONOTONIC_COARSE)
#endif

namespace mesh::detail {

using clock = std::chrono::steady_clock;

/// A cheap reading of clock::now() for bookkeeping that tolerates a tick of error: on Linux with
/// libstdc++ (steady_clock = CLOCK_MONOTONIC) it is CLOCK_MONOTONIC_COARSE, a few ns instead of
/// a full clock read, never ahead of clock::now() and behind it by at most coarse_tick()
/// (normally one kernel tick, 1-4 ms). Elsewhere it is clock::now() and the tick is 0.
#if defined(__linux__) && defined(__GLIBCXX__) && defined(CLOCK_MONOTONIC_COARSE)
inline clock::time_point coarse_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return clock::time_point(std::chrono::duration_cast<clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                       std::chrono::nanoseconds(ts.tv_nsec)));
}
inline clock::duration coarse_tick() noexcept {
  static clock::duration const tick = [] {
    timespec ts{};
    if (::clock_getres(CLOCK_MONOTONIC_COARSE, &ts) != 0) return clock::duration(std::chrono::milliseconds(10));
    return std::chrono::duration_cast<clock::duration>(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }();
  return tick;
}
#else
inline clock::time_point coarse_now() noexcept { return clock::now(); }
inline clock::duration coarse_tick() noexcept { return clock::duration::zero(); }
#endif

/// clock::now(), or a cheaper reading that is at most `tolerance` later (the coarse clock plus its
/// tick) when the tick fits in the tolerance.
inline clock::time_point now_within(clock::duration tolerance) noexcept {
  auto const tick = coarse_tick();
  if (tick == clock::duration::zero() || tick > tolerance) return clock::now();
  return coarse_now() + tick;
}

/// True when `deadline` has passed. Reads the precise clock only near the deadline: a deadline
/// more than `slack` after the coarse clock is certainly still ahead.
inline bool past(clock::time_point deadline) noexcept {
  if (deadline == clock::time_point::max()) return false;
  constexpr clock::duration slack = std::chrono::milliseconds(50);
  auto const c = coarse_now();
  if (c > deadline) return true;
  if (deadline - c > slack + coarse_tick()) return false;
  return clock::now() > deadline;
}

}  // namespace mesh::detail
