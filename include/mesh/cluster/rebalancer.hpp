#pragma once
/// cluster::rebalancer: after the capability table changes, the activations whose shard moved to
/// another node are retired here. Busy activations cannot be retired at once, so a change gets a
/// few passes, one per heartbeat tick. I/O thread only.

#include <mesh/cluster/host.hpp>
#include <mesh/cluster/membership.hpp>

#include <cstdint>

namespace mesh::cluster {

class rebalancer {
 public:
  /// Passes per change (ticks): an activation busy for this long keeps serving its old shard.
  static constexpr int passes_per_change = 5;

  /// One tick: a pass when the table changed within the last passes_per_change ticks.
  void tick(host& h, membership const& members) {
    auto const v = members.version();
    if (v != version_) {
      version_ = v;
      passes_left_ = passes_per_change;
    }
    if (passes_left_ == 0) return;
    --passes_left_;
    h.retire_moved_activations();
  }

  /// Starts a new series of passes (handed-off activations arrived that this node does not own).
  void poke() noexcept { passes_left_ = passes_per_change; }

 private:
  std::uint64_t version_ = 0;
  int passes_left_ = 0;
};

}  // namespace mesh::cluster
