#pragma once
/// cluster::host: what the cluster asks of the node it serves (the actor layer implements it,
/// detail::node_core). The other direction, a request sent with its completion, is
/// cluster::service::send. These two are the only crossings between actor/ and cluster/.

#include <mesh/cluster/gossip.hpp>
#include <mesh/core/log.hpp>
#include <mesh/core/thread_context.hpp>
#include <mesh/wire/frame_callback.hpp>

#include <string_view>

namespace mesh::cluster {

class host {
 public:
  /// A request from a peer, addressed to this node (fingerprint checked). `respond` (empty for a
  /// cast) gets the answer exactly once, from any thread: the reply, or an error frame when the
  /// actor type is unknown, this node does not own the id, or the handler failed.
  virtual void deliver(wire::frame&& f, detail::frame_callback respond) = 0;
  /// Runs `r` on the worker pool.
  virtual void hand_to_workers(detail::runnable* r) = 0;
  /// Deactivates idle activations whose shard this node no longer owns (busy ones stay; the
  /// rebalancer asks again); those of actors with a `state` are handed off to their new owner
  /// (service::hand_off).
  virtual void retire_moved_activations() = 0;
  /// What became of a handoff's entries (accept_handoff).
  struct handoff_outcome {
    std::size_t installed = 0;  ///< new activations made with the handed-off state
    std::size_t existing = 0;   ///< an activation existed already (a call came first): kept, entry dropped
    std::size_t stray = 0;      ///< installed, though this node does not own the id in its view (yet)
    std::size_t bad = 0;        ///< unknown actor, over-long id, or state that does not decode
  };
  /// Activations handed off by member `h.from` (checked by the service: a member, same schema).
  virtual handoff_outcome accept_handoff(handoff&& h) = 0;
  /// partition_mode::keep_majority: this node may serve until `until` (it keeps a majority in
  /// contact until then). `fence`: it lost the majority since the last call, so every activation
  /// it holds is stale (another node may take its ids over): none may run another message.
  virtual void set_serving_until(detail::clock::time_point until, bool fence) = 0;
  /// Writes a log line through node_config::logger.
  virtual void log(log_level level, std::string_view line) const noexcept = 0;

 protected:
  ~host() = default;
};

}  // namespace mesh::cluster
