#pragma once
/// cluster::quorum_until: until when a node may serve under partition_mode::keep_majority, from
/// its last contact with each voting member. Pure (no I/O): the service feeds it, node_core reads
/// the result on every request. See docs/fencing.md.
///
/// A contact with member M is the send time, on this node's monotonic clock, of a heartbeat of
/// ours that M has echoed back. Any message M sent since could only make M drop us later, never
/// earlier: M drops us failure_timeout after it last heard from us, which is after that send
/// time. So while every contact we count is younger than the lease (< failure_timeout), no member
/// of the majority we count can have declared us dead: we stop serving before anyone takes over.
/// Stale messages read after a pause (SIGSTOP, a long GC) echo old send times: they renew nothing.

#include <mesh/core/clock.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

namespace mesh::cluster {

/// One voting member (a member hosting at least one capability) as this node sees it.
struct voter {
  std::string_view name;
  detail::clock::time_point contact;  ///< last echoed heartbeat; time_point::max() for this node
};

/// The time until which `voters` (this node among them when it votes) keep a majority reachable:
/// more than half of them with a contact younger than `lease`, or exactly half including the
/// lowest name (Akka's keep-majority rule for an even split). time_point::max() when there is
/// nobody to agree with; time_point::min() when no majority is reachable at all.
inline detail::clock::time_point quorum_until(std::vector<voter> voters, detail::clock::duration lease) {
  using tp = detail::clock::time_point;
  std::size_t const n = voters.size();
  if (n == 0) return tp::max();
  auto plus_lease = [&](tp t) { return t == tp::max() ? t : t == tp::min() ? t : t + lease; };
  auto const fresher = [](voter const& a, voter const& b) { return a.contact > b.contact; };
  std::sort(voters.begin(), voters.end(), fresher);
  // Strict majority: the (n/2+1)-th freshest contact expires last of the ones it needs.
  tp best = plus_lease(voters[n / 2].contact);
  if (n % 2 == 0) {
    // Even split: half the voters suffice when the lowest-named one is among them.
    auto const lowest = std::min_element(voters.begin(), voters.end(), [](voter const& a, voter const& b) { return a.name < b.name; });
    tp const low = lowest->contact;
    std::size_t const others_needed = n / 2 - 1;
    tp others = tp::max();
    if (others_needed > 0) {
      std::size_t seen = 0;
      for (auto const& v : voters) {  // freshest first
        if (&v == &*lowest) continue;
        if (++seen == others_needed) {
          others = v.contact;
          break;
        }
      }
    }
    best = std::max(best, plus_lease(std::min(low, others)));
  }
  return best;
}

}  // namespace mesh::cluster
