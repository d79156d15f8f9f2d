#pragma once
/// detail::node_core: the schema-independent part of a node (configuration, capability table,
/// worker pool, timers, actor-table registry, remote hooks). Typed code reaches actor tables
/// through it, so mesh::context needs no schema parameter.

#include <mesh/actor/pool.hpp>
#include <mesh/cluster/host.hpp>
#include <mesh/core/in_place_from.hpp>
#include <mesh/cluster/membership.hpp>
#include <mesh/cluster/placement.hpp>
#include <mesh/cluster/service.hpp>
#include <mesh/cluster/shard.hpp>
#include <mesh/config.hpp>
#include <mesh/core/error.hpp>
#include <mesh/core/function.hpp>
#include <mesh/core/log.hpp>
#include <mesh/core/metrics.hpp>
#include <mesh/wire/error_frame.hpp>
#include <mesh/wire/frame.hpp>
#include <mesh/wire/frame_callback.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesh::detail {

/// Unique address per actor type: the key of the actor-table registry.
template <class A>
inline constexpr char actor_tag = 0;

/// Type-erased view of one actor type's activations.
class table_base {
 public:
  virtual ~table_base() = default;
  virtual std::string_view actor_name() const noexcept = 0;
  virtual std::string_view capability() const noexcept = 0;
  virtual std::size_t size() const = 0;
  /// Messages waiting in the mailboxes of its activations (node::metrics(); takes every lock once).
  virtual std::size_t queued() const = 0;
  /// Deactivates activations idle since before `cutoff`; returns how many.
  virtual std::size_t reap_idle(clock::time_point cutoff) = 0;
  /// Deactivates idle activations whose id satisfies `pred` (shard moved away); returns how many.
  virtual std::size_t deactivate_where(std::function<bool(std::string_view)> const& pred) = 0;
  /// True when the actor has a `state` member (its activations move with handoff).
  virtual bool has_state() const noexcept = 0;
  /// deactivate_where, and for each deactivated activation with an instance, `sink(id, state
  /// bytes)` before it is deactivated (handoff).
  virtual std::size_t hand_off_where(std::function<bool(std::string_view)> const& pred,
                                     std::function<void(std::string_view, std::string&&)> const& sink) = 0;
  /// Makes the activation of `id` from handed-off state bytes: true when made, false when one
  /// exists already (kept as it is); errc::bad_message when the bytes do not decode.
  virtual result<bool> install_handed_off(std::string_view id, std::string_view bytes) = 0;
  /// Fails every queued message with `e` and closes the mailboxes (shutdown, before workers stop).
  virtual void fail_pending(error const& e) = 0;
  /// Deactivates and destroys every activation (after workers stopped).
  virtual void shutdown() = 0;
  /// Delivers a request that arrived from the network (payload still encoded).
  virtual void deliver_remote(wire::frame&& f, frame_callback respond) = 0;
};

/// Where a request goes.
struct route {
  bool local = true;
  std::string node;  // owner name when remote
};

class node_core : public cluster::host {
 public:
  explicit node_core(node_config cfg)
      : cfg_(normalize(std::move(cfg))),
        log_tag_("mesh " + cfg_.name),
        pool_(cfg_.workers),
        timer_(std::make_shared<timer_thread>(cfg_.logger, cfg_.log_level, log_tag_)) {
    members_.set_capabilities(cfg_.name, {});
  }
  node_core(node_core const&) = delete;
  node_core& operator=(node_core const&) = delete;
  virtual ~node_core() = default;

  node_config const& config() const noexcept { return cfg_; }
  std::string const& name() const noexcept { return cfg_.name; }
  cluster::membership& members() noexcept { return members_; }
  cluster::membership const& members() const noexcept { return members_; }
  worker_pool& pool() noexcept { return pool_; }
  std::shared_ptr<timer_thread> const& timer() const noexcept { return timer_; }
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

  template <class A>
  table_base* find_table() const noexcept {
    for (auto const& [tag, t] : tables_)
      if (tag == &actor_tag<A>) return t;
    return nullptr;
  }
  table_base* find_table(std::string_view actor) const noexcept {
    for (auto const& [tag, t] : tables_)
      if (t->actor_name() == actor) return t;
    return nullptr;
  }

  /// True while this node may run handlers: always, unless partition_mode::keep_majority fenced
  /// it (cut off from a majority of the cluster; see cluster/quorum.hpp). One relaxed load and a
  /// coarse clock read: the lease has a margin of failure_timeout / 2 over the clock's tick.
  bool serving() const noexcept {
    auto const until = serving_until_.load(std::memory_order_relaxed);
    return until == never_fenced || coarse_now().time_since_epoch().count() < until;
  }
  /// Bumped each time the node loses its majority: activations from before hold stale state.
  std::uint64_t fence_epoch() const noexcept { return fence_epoch_.load(std::memory_order_relaxed); }

  /// errc::no_quorum (out of line: built only when it happens).
  [[gnu::cold, gnu::noinline]] error no_quorum() const {
    return fail(errc::no_quorum, "node '" + cfg_.name + "' is cut off from a majority of the cluster and serves no calls until it is back");
  }

  /// Where the activation of (capability, id) lives now: the owner node_config::placement picks among
  /// sorted(nodes_for(cap)) for the id's shard (modulo: [shard % n]). errc::no_quorum while this
  /// node is fenced (it routes nothing: its view may be stale).
  [[gnu::noinline]] result<route> route_for(std::string_view capability, std::string_view id) const {
    if (id.size() > mesh::max_id_bytes) return id_too_long(id.size());
    if (!serving()) [[unlikely]] return fenced_route(capability);
    // Per-thread memo of "one node alone hosts `capability`" in the current snapshot (the
    // single-node case, or a caller whose calls all go to one host): no map lookup, no hashing of
    // the id. Checked against the membership's version before fetching the snapshot (a
    // snapshot's version is the version it published).
    struct sole_owner_memo {
      std::uint64_t core = 0, version = 0;
      std::string capability;
      bool local = true;
      std::string owner;  // when remote
    };
    thread_local sole_owner_memo memo;
    if (memo.core == uid_ && memo.version == members_.version() && memo.capability == capability)
      return memo.local ? local_route() : result<route>(route{false, memo.owner});
    auto const* snap = members_.current();
    auto const* nodes = snap->nodes_for(capability);
    if (!nodes || nodes->empty()) return cluster::no_nodes_error(capability);
    // One candidate owns every shard: no need to hash the id.
    auto const& owner = nodes->size() == 1 ? nodes->front() : (*nodes)[cluster::owner_index(cfg_.placement, shard_for(id, cfg_.shard_count), *nodes)];
    bool const local = owner == cfg_.name;
    if (nodes->size() == 1) {
      memo.core = uid_;
      memo.version = snap->version;
      memo.capability.assign(capability);
      memo.local = local;
      if (!local) memo.owner = owner;
    }
    if (local) return local_route();
    return route{false, owner};
  }

  /// Sends a request frame to remote owner `node` (the one crossing from the actor layer into
  /// the cluster). `on_reply` gets the reply or error frame (or a synthesized error frame on
  /// failure) exactly once. It may be called while the transport holds its sockets, with
  /// thread_context::publish_later set: it then only stores the outcome and appends what to wake
  /// there (no I/O, no wake-ups).
  void send_remote(std::string const& node, wire::frame&& f, clock::time_point deadline, frame_callback on_reply) {
    if (service_) return service_->send(node, std::move(f), deadline, std::move(on_reply));
    on_reply(wire::error_frame(0, errc::node_unreachable, "node '" + node + "' is not reachable from a single-process node"));
  }

  /// A cast that could not be delivered (transport_stats().cast_drops; casts are at-most-once).
  void count_cast_drop() noexcept {
    if (service_) service_->count_cast_drop();
  }

  /// The transport a thread waiting for a remote reply may read itself (none without a cluster).
  reply_reader* reader() noexcept { return service_.get(); }

  /// The cluster service (null for a single-process node).
  cluster::service* cluster_service() noexcept { return service_.get(); }
  cluster::service const* cluster_service() const noexcept { return service_.get(); }

  /// Calls f(table_base&) for every actor type of the schema.
  template <class F>
  void for_each_table(F&& f) const {
    for (auto const& [tag, t] : tables_) f(*t);
  }

  /// Writes one log line through node_config::logger (stderr by default).
  void log(log_level level, std::string_view line) const noexcept override {
    write_log(cfg_.logger, cfg_.log_level, log_tag_, level, line);
  }
  void log(std::string_view line) const noexcept { log(log_level::info, line); }

  // ---- cluster::host: what the cluster asks of this node ---------------------------------------

  /// A request from a peer: to its actor table when this node owns the id, else answered with
  /// the error (not_found, invalid_argument for an over-long id, rebalancing: ask the owner again).
  void deliver(wire::frame&& f, frame_callback respond) override {
    if (stopping()) [[unlikely]]  // leaving: its stateful activations were handed off already
      return refuse(f, respond, errc::shutting_down, "node '" + cfg_.name + "' is shutting down");
    auto* table = find_table(f.h.actor);
    if (!table) return refuse(f, respond, errc::not_found, "node '" + cfg_.name + "' has no actor type '" + f.h.actor + "'");
    auto rt = route_for(table->capability(), f.h.id);
    if (!rt) {
      auto const code = rt.error().code;
      if (code == errc::invalid_argument || code == errc::no_quorum) return refuse(f, respond, code, rt.error().message);
      return refuse(f, respond, errc::rebalancing, "node '" + cfg_.name + "' has no owner for '" + f.h.id + "' of actor '" + f.h.actor + "' (" + rt.error().message + "); retry");
    }
    if (!rt->local)
      return refuse(f, respond, errc::rebalancing, "node '" + cfg_.name + "' no longer owns '" + f.h.id + "' of actor '" + f.h.actor + "'; retry");
    table->deliver_remote(std::move(f), std::move(respond));
  }
  void hand_to_workers(runnable* r) override { pool_.submit(r); }
  void retire_moved_activations() override {
    metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
    bool const leaving = any_leaving();
    for_each_table([&](table_base& t) {
      if (t.size() == 0) return;
      auto moved_away = [&](std::string_view id) {
        auto rt = route_for(t.capability(), id);
        // Handed off to us by a member that is leaving: its leave follows, keep the activation.
        if (rt && !rt->local && leaving && is_leaving(rt->node)) return false;
        return !rt || !rt->local;
      };
      std::size_t moved = 0;
      if (t.has_state() && service_) {
        handoff_batches out(*this, t.actor_name(), false);
        moved = t.hand_off_where(moved_away, [&](std::string_view id, std::string&& bytes) {
          if (auto rt = route_for(t.capability(), id); rt && !rt->local) out.add(rt->node, id, std::move(bytes));
        });
        out.flush_all();
      } else {
        moved = t.deactivate_where(moved_away);
      }
      metrics_.handoffs.fetch_add(moved, std::memory_order_relaxed);
    });
  }

  /// Graceful leave (before the leave message): hands every idle activation of an actor with a
  /// `state` to the node that owns its id once this node is gone. Busy activations stay (and are
  /// lost with the node, or reloaded from the store). Returns how many moved.
  std::size_t hand_off_before_leave() {
    if (!service_) return 0;
    std::size_t total = 0;
    for_each_table([&](table_base& t) {
      if (!t.has_state() || t.size() == 0) return;
      handoff_batches out(*this, t.actor_name(), true);
      auto const moved = t.hand_off_where([&](std::string_view id) { return !owner_without_me(t.capability(), id).empty(); },
                                          [&](std::string_view id, std::string&& bytes) {
                                            out.add(owner_without_me(t.capability(), id), id, std::move(bytes));
                                          });
      out.flush_all();
      metrics_.handoffs.fetch_add(moved, std::memory_order_relaxed);
      total += moved;
    });
    return total;
  }

  /// cluster::host: activations handed off to this node. Each is made with its state unless one
  /// exists for its id already (a call came first: that one is kept, the handed-off state dropped).
  handoff_outcome accept_handoff(cluster::handoff&& h) override {
    handoff_outcome out;
    auto* table = find_table(h.actor);
    if (!table || !table->has_state()) {
      out.bad = h.entries.size();
      log(log_level::warning, "dropped a handoff of " + std::to_string(h.entries.size()) + " activations of unknown or stateless actor '" +
                                  h.actor.substr(0, 64) + "' from '" + h.from + "'");
      return out;
    }
    if (h.leaving) note_leaving(h.from);
    for (auto& e : h.entries) {
      if (e.id.size() > mesh::max_id_bytes) {
        ++out.bad;
        continue;
      }
      auto made = table->install_handed_off(e.id, e.state);
      if (!made) {
        ++out.bad;
        log(log_level::warning, "dropped the handed-off state of '" + e.id + "' of actor '" + h.actor + "' from '" + h.from + "': " + made.error().message);
        continue;
      }
      if (!*made) {
        ++out.existing;
        log(log_level::debug, "kept the existing activation of '" + e.id + "' of actor '" + h.actor + "'; dropped the state handed off by '" + h.from + "'");
        continue;
      }
      ++out.installed;
      auto rt = route_for(table->capability(), e.id);
      bool const mine = (rt && rt->local) || (h.leaving && owner_without(table->capability(), e.id, h.from) == cfg_.name);
      if (!mine) ++out.stray;
    }
    metrics_.handoffs_in.fetch_add(out.installed, std::memory_order_relaxed);
    return out;
  }

  void set_serving_until(clock::time_point until, bool fence) override {
    if (fence) fence_epoch_.fetch_add(1, std::memory_order_relaxed);
    serving_until_.store(until == clock::time_point::max() ? never_fenced : until.time_since_epoch().count(),
                         std::memory_order_relaxed);
  }

  /// The call counters behind node::metrics().
  metrics_registry& metrics() noexcept { return metrics_; }
  metrics_registry const& metrics() const noexcept { return metrics_; }

  /// Schema fingerprint of the typed node (set by node<Schema>).
  std::uint64_t fingerprint() const noexcept { return fingerprint_; }

 protected:
  /// route{true, {}} built in place in the result: on the hot path of every local call, where a
  /// temporary route would cost two string moves.
  static result<route> local_route() noexcept {
    auto make = [] { return route{true, {}}; };
    return result<route>(in_place_from<decltype(make)>{make});
  }

  [[gnu::cold, gnu::noinline]] void refuse(wire::frame const& f, frame_callback& respond, errc code, std::string text) {
    if (respond) respond(wire::error_frame(f.h.request_id, code, std::move(text)));
    else count_cast_drop();
  }

  /// The owner of (capability, id) among the hosts of `capability` other than `gone` (empty:
  /// none): where its activation goes when `gone` leaves.
  std::string owner_without(std::string_view capability, std::string_view id, std::string_view gone) const {
    auto const* nodes = members_.current()->nodes_for(capability);
    if (!nodes) return {};
    std::vector<std::string> rest;
    rest.reserve(nodes->size());
    for (auto const& n : *nodes)
      if (n != gone) rest.push_back(n);
    if (rest.empty()) return {};
    return rest[cluster::owner_index(cfg_.placement, shard_for(id, cfg_.shard_count), rest)];
  }
  std::string owner_without_me(std::string_view capability, std::string_view id) const { return owner_without(capability, id, cfg_.name); }

  /// Handed-off entries of one actor type grouped by new owner, sent in frames of about
  /// service::handoff_chunk_bytes().
  class handoff_batches {
   public:
    handoff_batches(node_core& core, std::string_view actor, bool leaving) : core_(core), actor_(actor), leaving_(leaving) {}
    void add(std::string const& node, std::string_view id, std::string&& bytes) {
      if (node.empty()) return;
      auto& b = by_node_[node];
      b.bytes += id.size() + bytes.size() + 8;
      b.entries.push_back(cluster::handoff_entry{std::string(id), std::move(bytes)});
      if (b.bytes >= core_.service_->handoff_chunk_bytes()) flush(node, b);
    }
    void flush_all() {
      for (auto& [node, b] : by_node_) flush(node, b);
    }

   private:
    struct batch {
      std::vector<cluster::handoff_entry> entries;
      std::size_t bytes = 0;
    };
    void flush(std::string const& node, batch& b) {
      if (b.entries.empty()) return;
      core_.service_->hand_off(node, std::string(actor_), std::move(b.entries), leaving_);
      b.entries.clear();
      b.bytes = 0;
    }
    node_core& core_;
    std::string_view actor_;
    bool leaving_;
    std::map<std::string, batch> by_node_;
  };

  /// Members that handed off to us as they leave, until their leave arrives: the rebalancer must
  /// not hand their activations back (entries expire after failure_timeout: by then the member
  /// left, or was declared dead).
  void note_leaving(std::string const& name) {
    std::lock_guard lk(leaving_m_);
    auto const until = clock::now() + cfg_.failure_timeout;
    for (auto& [n, t] : leaving_)
      if (n == name) return void(t = until);
    leaving_.emplace_back(name, until);
  }
  bool any_leaving() {
    std::lock_guard lk(leaving_m_);
    auto const now = clock::now();
    std::erase_if(leaving_, [&](auto const& e) { return e.second <= now; });
    return !leaving_.empty();
  }
  bool is_leaving(std::string const& name) {
    std::lock_guard lk(leaving_m_);
    for (auto const& [n, t] : leaving_)
      if (n == name) return true;
    return false;
  }

  /// route_for on a fenced node: no_nodes when nobody hosts the capability anyway, else no_quorum.
  [[gnu::cold, gnu::noinline]] error fenced_route(std::string_view capability) const {
    auto const* nodes = members_.current()->nodes_for(capability);
    if (!nodes || nodes->empty()) return cluster::no_nodes_error(capability);
    return no_quorum();
  }

  [[gnu::cold, gnu::noinline]] static error id_too_long(std::size_t n) {
    return fail(errc::invalid_argument, "actor id of " + std::to_string(n) + " bytes exceeds the limit of " +
                                            std::to_string(mesh::max_id_bytes));
  }

  static node_config normalize(node_config c) {
    if (c.name.empty()) c.name = "local";
    if (c.workers == 0) c.workers = std::max(1u, std::thread::hardware_concurrency());
    if (c.shard_count == 0) c.shard_count = 1;
    if (c.shard_count > (std::uint64_t{1} << 32)) c.shard_count = std::uint64_t{1} << 32;
    if (c.mailbox_capacity == 0) c.mailbox_capacity = 1;
    if (c.quorum_lease.count() <= 0 || c.quorum_lease > c.failure_timeout / 2) c.quorum_lease = c.failure_timeout / 2;
    return c;
  }
  void register_table(void const* tag, table_base* t) {
    tables_.emplace_back(tag, t);
    metrics_.add_actor(t->actor_name(), t->capability());
  }

  /// Joins the cluster (node_config::listen set), once the tables and the fingerprint are set.
  void start_cluster() { service_ = std::make_unique<cluster::service>(*this, cfg_, members_, fingerprint_); }
  /// Leaves it: peers drop us at once, remote callers get errors.
  void stop_cluster() {
    if (service_) service_->stop();
  }

  node_config cfg_;
  std::string log_tag_;  // "mesh <name>": how stderr lines are tagged without a logger
  cluster::membership members_;
  worker_pool pool_;
  std::shared_ptr<timer_thread> timer_;
  metrics_registry metrics_{cfg_.metrics};  // before service_: its completions count here
  std::atomic<bool> stopping_{false};
  std::vector<std::pair<void const*, table_base*>> tables_;
  std::uint64_t fingerprint_ = 0;
  /// serving(): never_fenced until the cluster service publishes a lease (keep_majority only).
  static constexpr clock::rep never_fenced = std::numeric_limits<clock::rep>::max();
  std::atomic<clock::rep> serving_until_{never_fenced};
  std::atomic<std::uint64_t> fence_epoch_{0};
  std::mutex leaving_m_;
  std::vector<std::pair<std::string, clock::time_point>> leaving_;  // see note_leaving
  std::unique_ptr<cluster::service> service_;  // last: stopped and destroyed before the tables

 private:
  static std::uint64_t next_uid() noexcept {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }
  std::uint64_t const uid_ = next_uid();  // unique per node_core in the process (keys route_for's memo)
};

}  // namespace mesh::detail
