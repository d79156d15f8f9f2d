#pragma once
/// mesh::node<Schema>: where the layers meet. Hosts activations of the schema's actors for the
/// capabilities it registered, routes every call by shard to the owner node, and (with a
/// `listen` endpoint) takes part in a cluster.

#include <mesh/actor/invoke.hpp>
#include <mesh/cluster/service.hpp>
#include <mesh/config.hpp>
#include <mesh/core/schema.hpp>
#include <mesh/wire/check_serializable.hpp>
#include <mesh/wire/fingerprint.hpp>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace mesh {

namespace detail {
template <class S>
constexpr bool check_node_schema() {
  if constexpr (!is_schema<S>::value) {
    (void)sizeof(diagnostics::node_needs_a_schema<S>);
    return false;
  } else {
    return wire::check_serializable<S>();
  }
}
}  // namespace detail

namespace detail {
/// The one door from library code (mesh::flow, white-box tests) to a node's schema-independent
/// internals, detail::node_core (membership, worker pool, timers, actor tables, routing), which a
/// node inherits privately: `n.members()` fails at the call. Code inside mesh that needs them
/// writes `detail::node_access::core(n).members()`.
struct node_access {
  template <class Schema>
  static node_core& core(node<Schema>& n) noexcept {
    return n;
  }
  template <class Schema>
  static node_core const& core(node<Schema> const& n) noexcept {
    return n;
  }
};
}  // namespace detail

/// A mesh node. Thread-safe: every member function may be called from any thread.
/// Not copyable or movable; the destructor stops it (see docs/architecture.md, "Shutdown").
template <class Schema>
class node : private detail::node_core {
  static constexpr bool schema_ok = detail::check_node_schema<Schema>();
  friend struct detail::node_access;

 public:
  using schema_type = Schema;

  /// Starts the node: worker pool, timers and (cluster mode) sockets.
  explicit node(node_config cfg = {}) : detail::node_core(std::move(cfg)) {
    if constexpr (schema_ok) {
      fingerprint_ = wire::fingerprint_v<Schema>;
      make_tables(static_cast<Schema*>(nullptr));
    }
    if (cfg_.idle_timeout.count() > 0) schedule_reaper();
    if (!cfg_.listen.empty()) {
      try {
        start_cluster();
      } catch (...) {
        stop();
        throw;
      }
    }
  }

  node(node const&) = delete;
  node& operator=(node const&) = delete;

  /// Stops the node: new requests fail with errc::shutting_down, queued work gets
  /// `shutdown_grace` to finish, the rest fails with errc::shutting_down; every activation is
  /// deactivated (on_deactivate runs) and every thread joined before it returns.
  ~node() override { stop(); }

  /// This node's name.
  std::string const& name() const noexcept { return cfg_.name; }

  /// This node's configuration, as normalized at construction (e.g. `workers` resolved from 0).
  using detail::node_core::config;

  // ---- capabilities and topology -----------------------------------------------------------

  /// Registers capabilities this node hosts (adds to those registered before).
  template <class... Caps>
  void register_capabilities() {
    if constexpr ((is_capability_v<Caps> && ...)) {
      register_capabilities({Caps::name...});
    } else {
      (check_capability<Caps>(), ...);
    }
  }
  /// Registers capabilities by name, at run time.
  void register_capabilities(std::initializer_list<std::string_view> caps) {
    register_capabilities(std::vector<std::string>(caps.begin(), caps.end()));
  }
  void register_capabilities(std::vector<std::string> const& caps) { on_capabilities_changed(caps); }

  /// Stops hosting capabilities: every member routes their shards elsewhere, and this node's
  /// idle activations of them are deactivated (busy ones when they finish, within a few
  /// heartbeats). Those of actors with a `state` move to their new owners with it (handoff,
  /// docs/state.md).
  template <class... Caps>
  void unregister_capabilities() {
    if constexpr ((is_capability_v<Caps> && ...)) {
      unregister_capabilities({Caps::name...});
    } else {
      (check_capability<Caps>(), ...);
    }
  }
  void unregister_capabilities(std::initializer_list<std::string_view> caps) {
    unregister_capabilities(std::vector<std::string>(caps.begin(), caps.end()));
  }
  void unregister_capabilities(std::vector<std::string> const& caps) {
    if (!members_.remove_capabilities(cfg_.name, caps)) return;
    if (auto* s = cluster_service()) s->capabilities_changed();
    retire_moved_activations();
  }

  /// Sorted names of the nodes that registered capability Cap.
  template <class Cap>
  std::vector<std::string> nodes_for() const {
    if constexpr (is_capability_v<Cap>) return members_.nodes_for(Cap::name);
    else return check_capability<Cap>(), std::vector<std::string>{};
  }
  /// Sorted names of the nodes that registered capability `cap` (empty when none).
  std::vector<std::string> nodes_for(std::string_view cap) const { return members_.nodes_for(cap); }

  /// Sorted, unique capabilities registered anywhere in the cluster.
  std::vector<std::string> all_capabilities() const { return members_.all_capabilities(); }

  /// Owner of `shard` for `cap` by node_config::placement (modulo: sorted(nodes_for(cap))[shard % size]),
  /// or errc::no_nodes.
  result<std::string> owner_node(std::uint32_t shard, std::string_view cap) const {
    return cluster::membership::owner(*members_.snapshot(), shard, cap, cfg_.placement);
  }
  template <class Cap>
  result<std::string> owner_node(std::uint32_t shard) const {
    return owner_node(shard, Cap::name);
  }

  /// Shard of `id` with this node's shard_count.
  std::uint32_t shard_for(std::string_view id) const noexcept { return mesh::shard_for(id, cfg_.shard_count); }

  // ---- requests ------------------------------------------------------------------------------

  /// Calls actor `Actor` with id `id`; waits for the reply at most `timeout` (default:
  /// node_config::call_timeout). Errors: no_nodes, timeout, actor_failed, overloaded,
  /// node_unreachable, shutting_down, ...
  template <class Actor, class Message>
  auto call(std::string_view id, Message&& msg, std::chrono::milliseconds timeout = {}) {
    using M = std::remove_cvref_t<Message>;
    if constexpr (!check_request<Actor, M>()) {
      return result<reply<void>>(fail(errc::type_mismatch, "invalid request"));
    } else {
      return detail::call<Actor, M>(*this, id, detail::payload_of<M>(std::forward<Message>(msg)), std::nullopt, timeout);
    }
  }
  /// Calls with a full request (init argument, timeout).
  template <class Actor, class Message>
  auto call(request<Actor, Message> req) {
    if constexpr (!check_request<Actor, Message>()) {
      return result<reply<void>>(fail(errc::type_mismatch, "invalid request"));
    } else {
      return detail::call<Actor, Message>(*this, req.id, std::move(req.payload), std::move(req.init_arg), req.timeout);
    }
  }

  /// Starts a call and returns at once; the future yields the result (or errc::timeout).
  template <class Actor, class Message>
  auto call_async(std::string_view id, Message&& msg, std::chrono::milliseconds timeout = {}) {
    using M = std::remove_cvref_t<Message>;
    if constexpr (!check_request<Actor, M>()) {
      return future<void>{};
    } else {
      return detail::call_async<Actor, M>(*this, id, detail::payload_of<M>(std::forward<Message>(msg)), std::nullopt, timeout);
    }
  }
  template <class Actor, class Message>
  auto call_async(request<Actor, Message> req) {
    if constexpr (!check_request<Actor, Message>()) {
      return future<void>{};
    } else {
      return detail::call_async<Actor, Message>(*this, req.id, std::move(req.payload), std::move(req.init_arg), req.timeout);
    }
  }

  /// Sends without a reply; returns once the message is queued or handed to the transport.
  template <class Actor, class Message>
  result<void> cast(std::string_view id, Message&& msg) {
    using M = std::remove_cvref_t<Message>;
    if constexpr (!check_request<Actor, M>()) {
      return fail(errc::type_mismatch, "invalid request");
    } else {
      return detail::cast<Actor, M>(*this, id, detail::payload_of<M>(std::forward<Message>(msg)), std::nullopt);
    }
  }
  template <class Actor, class Message>
  result<void> cast(request<Actor, Message> req) {
    if constexpr (!check_request<Actor, Message>()) {
      return fail(errc::type_mismatch, "invalid request");
    } else {
      return detail::cast<Actor, Message>(*this, req.id, std::move(req.payload), std::move(req.init_arg));
    }
  }

  // ---- introspection -----------------------------------------------------------------------

  /// The endpoint this node listens on, as bound (empty for a single-process node).
  std::string endpoint() const { return service_ ? service_->endpoint() : std::string{}; }

  /// Sorted names of every cluster member this node currently sees, itself included.
  std::vector<std::string> cluster_members() const { return members_.members(); }

  /// Transport counters (all zero for a single-process node).
  cluster::transport_stats transport_stats() const { return service_ ? service_->stats() : cluster::transport_stats{}; }

  /// This node's figures now: calls by actor and outcome with their durations, activations and
  /// mailbox depth by actor, members, rebalances, transport counters (docs/operations.md).
  /// Sums every thread's counters and visits every activation's mailbox: for scrapes, not hot loops.
  node_metrics metrics() const {
    node_metrics m;
    m.node = cfg_.name;
    metrics_.sum_into(m);
    for (std::size_t i = 0; i < tables_.size() && i < m.actors.size(); ++i) {
      m.actors[i].activations = tables_[i].second->size();
      m.actors[i].mailbox_depth = tables_[i].second->queued();
    }
    m.members = members_.members().size();
    if (service_) {
      auto const t = service_->stats();
      m.frames_in = t.frames_in;
      m.frames_out = t.frames_out;
      m.bytes_in = t.bytes_in;
      m.bytes_out = t.bytes_out;
      m.bad_frames = t.bad_frames;
      m.refused_peers = t.refused_peers;
      m.send_failures = t.send_failures;
      m.cast_drops = t.cast_drops;
    }
    return m;
  }

  /// Replaces the client keys this node admits besides the cluster key (node_config::
  /// authorized_keys) while it runs: handshakes from now on, and members on open connections
  /// whose key is no longer admitted are dropped at their next message (docs/security.md,
  /// "Revoking one node"). invalid_argument for a malformed key or a node without CURVE (or a
  /// single-process node). Thread-safe.
  result<void> authorized_keys(std::vector<std::string> const& keys) {
    if (!service_) return fail(errc::invalid_argument, "node '" + cfg_.name + "' does not listen: it admits no keys");
    return service_->authorize_keys(keys);
  }
  /// Stops admitting client key `public_key` (Z85) at once, as authorized_keys without it;
  /// not_found when it was not admitted. Thread-safe.
  result<void> revoke_key(std::string_view public_key) {
    if (!service_) return fail(errc::invalid_argument, "node '" + cfg_.name + "' does not listen: it admits no keys");
    return service_->revoke_key(public_key);
  }

  /// Number of live activations of Actor on this node.
  template <class Actor>
  std::size_t activation_count() const {
    auto const* t = find_table<Actor>();
    return t ? t->size() : 0;
  }
  /// Number of live activations of every actor type on this node.
  std::size_t activation_count() const {
    std::size_t n = 0;
    for (auto const& [tag, t] : tables_) n += t->size();
    return n;
  }
  /// Deactivates activations idle for at least `idle` now (also done periodically when
  /// node_config::idle_timeout is set). Returns how many were deactivated.
  std::size_t deactivate_idle(std::chrono::milliseconds idle) {
    std::size_t n = 0;
    auto const cutoff = detail::clock::now() - idle;
    for (auto const& [tag, t] : tables_) n += t->reap_idle(cutoff);
    return n;
  }

 protected:
  /// Capability registration hook; the cluster layer also propagates it.
  virtual void on_capabilities_changed(std::vector<std::string> const& caps) {
    if (members_.add_capabilities(cfg_.name, caps) && service_) service_->capabilities_changed();
  }

  void stop() {
    if (stopping_.exchange(true)) return;
    hand_off_before_leave();  // queued before the leave: peers get the state, then the leave
    stop_cluster();  // leave first: peers drop us at once, remote callers get errors
    pool_.drain(detail::clock::now() + cfg_.shutdown_grace);
    for (auto const& [tag, t] : tables_) t->fail_pending(fail(errc::shutting_down, "node '" + cfg_.name + "' is shutting down"));
    pool_.stop();
    for (auto const& [tag, t] : tables_) t->shutdown();
    timer_->stop();
  }

 private:
  template <class Actor, class M>
  static constexpr bool check_request() {
    if constexpr (!schema_ok) {
      return false;
    } else if constexpr (!Schema::template contains<Actor>) {
      (void)sizeof(diagnostics::actor_not_in_schema<Actor>);
      return false;
    } else {
      return check_accepts<Actor, M>();
    }
  }
  template <class Cap>
  static constexpr bool check_capability() {
    if constexpr (!is_capability_v<Cap>) {
      (void)sizeof(diagnostics::not_a_capability<Cap>);
      return false;
    }
    return true;
  }

  // A vector, not a tuple of typed pointers: libstdc++'s tuple constraints cost the front end
  // time quadratic in the number of actor types.
  template <class... As>
  void make_tables(schema<As...>*) {
    owned_tables_.reserve(sizeof...(As));
    (make_table<As>(), ...);
  }
  template <class A>
  void make_table() {
    auto& t = owned_tables_.emplace_back(std::make_unique<detail::actor_table<A>>(static_cast<detail::node_core&>(*this)));
    register_table(&detail::actor_tag<A>, t.get());
  }

  void schedule_reaper() {
    auto const period = std::max(std::chrono::milliseconds(5), cfg_.idle_timeout / 4);
    timer_->at(detail::clock::now() + period, [this] {
      if (stopping()) return;
      schedule_reaper();  // first: a round that throws must not end the rounds after it
      deactivate_idle(cfg_.idle_timeout);
    });
  }

  std::vector<std::unique_ptr<detail::actor_table_base>> owned_tables_;
};

}  // namespace mesh
