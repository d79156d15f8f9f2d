#pragma once
/// detail::rate_limited_log: a line at most once per interval, for what a peer can make happen as
/// often as it likes (bad frames, refused connections): the log stays readable and cheap under a
/// flood, and the next line says how many were left out.

#include <mesh/core/clock.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace mesh::detail {

class rate_limited_log {
 public:
  static constexpr auto interval = std::chrono::seconds(1);

  /// Writes `line` through `write(std::string const&)` unless a line went out less than
  /// `interval` ago (then it is counted). Thread-safe.
  template <class Write>
  void note(Write const& write, std::string const& line) {
    auto const now = coarse_now().time_since_epoch().count();
    auto last = last_.load(std::memory_order_relaxed);
    if (now - last < std::chrono::duration_cast<clock::duration>(interval).count() ||
        !last_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto const more = suppressed_.exchange(0, std::memory_order_relaxed);
    write(more ? line + " (and " + std::to_string(more) + " more like it since the last report)" : line);
  }

 private:
  std::atomic<clock::rep> last_{std::numeric_limits<clock::rep>::min() / 2};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace mesh::detail
