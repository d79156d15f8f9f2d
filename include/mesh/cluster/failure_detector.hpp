#pragma once
/// cluster::failure_detector: which peers are dead. A member silent (no heartbeat, no frame) for
/// longer than node_config::failure_timeout is dead; so is a node refused as incompatible that
/// stopped answering our heartbeats with refusals. I/O lock only.

#include <mesh/cluster/peer_table.hpp>
#include <mesh/core/clock.hpp>

#include <string>
#include <vector>

namespace mesh::cluster {

class failure_detector {
  using clock = detail::clock;

 public:
  explicit failure_detector(clock::duration timeout) : timeout_(timeout) {}

  clock::duration timeout() const noexcept { return timeout_; }

  /// Endpoints of the members silent for longer than the timeout at `now`.
  std::vector<std::string> dead_members(peer_table& peers, clock::time_point now) const {
    std::vector<std::string> dead;
    for (auto& [ep, p] : peers.all())
      if (p.member && now - p.last_seen > timeout_) dead.push_back(ep);
    return dead;
  }

  /// Endpoints of the incompatible nodes that stopped refusing us.
  std::vector<std::string> gone_incompatible(peer_table& peers, clock::time_point now) const {
    std::vector<std::string> gone;
    for (auto& [ep, p] : peers.all())
      if (p.incompatible && !p.member && now - p.last_seen > timeout_) gone.push_back(ep);
    return gone;
  }

  /// True when a member last heard from at `last_seen` is certainly alive at `now` (a heartbeat
  /// claiming its name from elsewhere is then a duplicate, not a restart).
  bool surely_alive(clock::time_point last_seen, clock::time_point now) const { return now - last_seen < timeout_ / 2; }

 private:
  clock::duration timeout_;
};

}  // namespace mesh::cluster
