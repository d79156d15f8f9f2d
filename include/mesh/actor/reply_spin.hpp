#pragma once
/// detail::reply_spin: whether a thread waiting for a remote reply polls before it sleeps.

#include <mesh/core/clock.hpp>

#include <atomic>
#include <thread>

namespace mesh::detail {

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
  // A thread keeps spinning while at least this share of its recent spins ended with a message.
  static constexpr float min_hit_share = 0.25f;
  // Below that share, only every probe_every-th wait spins (a power of two).
  static constexpr unsigned probe_every = 16;
  // Each spin's outcome weighs 1/hit_weight in the running average of hits.
  static constexpr float hit_weight = 8;

 public:
  /// Claims a spinning slot for a wait on this thread; false: sleep at once.
  static bool begin(clock::duration budget) noexcept {
    if (budget <= clock::duration::zero()) return false;
    auto& me = mine();
    if (me.hits < min_hit_share && (++me.skipped & (probe_every - 1)) != 0) return false;
    auto& n = spinners();
    for (int v = n.load(std::memory_order_relaxed); v < max_spinners();)
      if (n.compare_exchange_weak(v, v + 1, std::memory_order_relaxed)) return true;
    return false;
  }
  /// Ends a spin that `hit` (a message came) or not.
  static void end(bool hit) noexcept {
    spinners().fetch_sub(1, std::memory_order_relaxed);
    auto& h = mine().hits;
    h += ((hit ? 1.0f : 0.0f) - h) / hit_weight;
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

}  // namespace mesh::detail
