#pragma once
/// cluster::host: what the cluster asks of the node it serves (the actor layer implements it,
/// detail::node_core). The other direction, a request sent with its completion, is
/// cluster::service::send. These two are the only crossings between actor/ and cluster/.

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
  /// rebalancer asks again).
  virtual void retire_moved_activations() = 0;
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
