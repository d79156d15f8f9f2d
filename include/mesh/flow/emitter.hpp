#pragma once
/// mesh::flow::emitter<T>: what a logic's process() emits through (DataMesh's broadcast
/// function): `broadcast(x)` to every linked node, `send_to(id, x)` to one node by id.

#include <mesh/core/error.hpp>
#include <mesh/flow/node_id.hpp>

#include <utility>

namespace mesh::flow {

namespace detail {
/// Where an emitter's items go: a local node's output_side, or a hosted node (casts).
template <class T>
struct emit_port {
  virtual void broadcast(T const& v) = 0;
  virtual void broadcast(T&& v) = 0;
  virtual result<void> send_to(node_id const& id, T&& v) = 0;

 protected:
  ~emit_port() = default;
};
}  // namespace detail

/// The output side of a node, handed to process(). A logic may emit zero, one or many items
/// per input. Valid only during the process() call it was passed to; not thread-safe (it
/// belongs to the node's current item).
template <class T>
class emitter {
 public:
  using value_type = T;

  explicit emitter(detail::emit_port<T>& port) noexcept : port_(&port) {}
  emitter(emitter const&) = delete;
  emitter& operator=(emitter const&) = delete;

  /// Sends a copy of `v` to every node linked from this one (none: the item is discarded).
  /// Never fails: a full downstream queue holds the item back (see docs/flow.md, "Backpressure").
  void broadcast(T const& v) { port_->broadcast(v); }
  void broadcast(T&& v) { port_->broadcast(std::move(v)); }

  /// Sends `v` to the node `id` of the same network, linked or not.
  /// Errors: not_found (no such node), type_mismatch (its input is not T). In a clustered
  /// network the target's type is checked where it runs (a mismatch is counted there).
  result<void> send_to(node_id const& id, T v) { return port_->send_to(id, std::move(v)); }

 private:
  detail::emit_port<T>* port_;
};

/// The emitter of a sink (a logic whose `output` is void): it cannot emit.
template <>
class emitter<void> {
 public:
  using value_type = void;
  emitter() = default;
  emitter(emitter const&) = delete;
  emitter& operator=(emitter const&) = delete;
};

}  // namespace mesh::flow
