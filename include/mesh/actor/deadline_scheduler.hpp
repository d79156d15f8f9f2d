#pragma once
/// detail::deadline_scheduler: where a continued future registers its deadline (the node's timer
/// thread implements it), and how a continuation's exception is reported.

#include <mesh/core/clock.hpp>
#include <mesh/core/log.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace mesh::detail {

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

}  // namespace mesh::detail
