#pragma once
/// detail::flow_backend: the operations a network forwards to where its nodes run, one virtual
/// call per operation. Typed arguments (a logic, options, a value, a retrieve result) travel
/// type-erased: a key naming the C++ type plus a pointer, and the typed entry points the local
/// runtime needs; the cluster backend finds the same types in its schema's host<Logics...>.
/// Implemented by local_backend (local_backend.hpp) and cluster_backend (cluster_backend.hpp).

#include <mesh/core/error.hpp>
#include <mesh/flow/node_id.hpp>
#include <mesh/flow/node_info.hpp>
#include <mesh/flow/type_key.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::flow::detail {

class node_base;
class local_engine;
enum class push_status;

/// A logic type, erased.
struct logic_ref {
  type_key key;           ///< the logic type in this process
  std::string_view name;  ///< logic_name<L>(): its `name`, stable across processes
  /// Constructs a local node running L from `options` (an options_t<L>); throws what L's
  /// constructor throws.
  node_base* (*make_local)(local_engine& engine, node_id const& id, void const* options);
};

/// One node to start.
struct start_request {
  node_id const* id;
  logic_ref const* logic;
  void const* options;  ///< an options_t<L> for L = the logic
};

/// A value for send_data, erased: `value` points to a T whose key is `type`.
struct value_ref {
  type_key type;
  std::string (*type_name)();
  void* value;
  /// Pushes *value into a local node whose input is T: waits for room until *deadline, or not
  /// at all when deadline is null. Moves the value only when it returns ok.
  push_status (*push)(node_base& node, void* value, std::chrono::steady_clock::time_point const* deadline);
};

/// What the target side of a link is: the sink it pushes into and what keeps that sink alive.
struct link_target {
  void* sink;
  std::shared_ptr<void> keep;
};
/// A compile-time graph's edge whose types differ but convert: output `out`, input `in`.
struct conversion {
  type_key out, in;
  /// Makes the converting sink in front of `target` (a node whose input is `in`).
  link_target (*make)(node_base& target);
};

/// Reads a local node's logic: fills `out` (a std::optional<R>*) from its retrieve(), or from
/// retrieve(*key) when key is not null.
using retrieve_function = void (*)(node_base& node, void* out, void const* key);

/// Where a network's nodes run. Every operation is thread-safe; a failed one changes nothing.
class flow_backend {
 public:
  virtual ~flow_backend() = default;

  /// True when the nodes live on a cluster.
  virtual bool clustered() const noexcept = 0;
  /// Starts every node of `nodes` (ids already checked distinct), all or none.
  virtual result<void> start(std::span<start_request const> nodes) = 0;
  virtual result<void> stop(node_id const& id) = 0;
  /// Links from -> to; with `conv` null the output must be exactly the input.
  virtual result<void> connect(node_id const& from, node_id const& to, conversion const* conv) = 0;
  virtual result<void> disconnect(node_id const& from, node_id const& to) = 0;
  /// Sends `v` to node `id`; `wait`: wait for room in a full queue up to send_timeout.
  virtual result<void> send(node_id const& id, value_ref const& v, bool wait) = 0;
  /// Reads node `id`, which must run `logic`, into `out` (see retrieve_function).
  virtual result<void> retrieve(node_id const& id, logic_ref const& logic, retrieve_function local, void* out,
                                void const* key) = 0;
  virtual result<node_info> info(node_id const& id) = 0;
  /// Ids of the nodes, sorted.
  virtual std::vector<node_id> nodes() = 0;
  virtual bool wait_idle(std::chrono::milliseconds timeout) = 0;
};

}  // namespace mesh::flow::detail
