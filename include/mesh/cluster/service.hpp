#pragma once
/// cluster::service: a node's part in the cluster. Over the transport (transport::io_loop and its
/// endpoint) it keeps the membership by gossiped heartbeats (gossip.hpp, peer_table.hpp), detects
/// failures (failure_detector.hpp), correlates requests with their answers (pending_calls.hpp),
/// retires activations whose shard moved (rebalancer.hpp) and hands requests to the node
/// (cluster::host). See docs/architecture.md, "Cluster".

#include <mesh/cluster/failure_detector.hpp>
#include <mesh/cluster/gossip.hpp>
#include <mesh/cluster/host.hpp>
#include <mesh/cluster/membership.hpp>
#include <mesh/cluster/peer_table.hpp>
#include <mesh/cluster/pending_calls.hpp>
#include <mesh/cluster/quorum.hpp>
#include <mesh/cluster/rebalancer.hpp>
#include <mesh/config.hpp>
#include <mesh/core/rate_limited_log.hpp>
#include <mesh/transport/inline_runner.hpp>
#include <mesh/transport/io_loop.hpp>
#include <mesh/transport/security.hpp>
#include <mesh/wire/codec.hpp>
#include <mesh/wire/error_frame.hpp>

#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mesh::cluster {

/// Counters a node exposes about its transport (all monotonically increasing).
struct transport_stats {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bad_frames = 0;     ///< undecodable frames dropped
  std::uint64_t send_failures = 0;  ///< frames not sent: peer not a member, HWM reached, peer gone
  std::uint64_t refused_peers = 0;  ///< heartbeats refused (schema mismatch, duplicate name)
  /// Casts this node could not deliver (casts are at-most-once: no caller hears of these): sent
  /// to an owner that was not reachable or whose queue was full, or received for an id this node
  /// does not own, while it had no quorum, or with its mailbox full.
  std::uint64_t cast_drops = 0;
  std::uint64_t bytes_in = 0;       ///< bytes received (every part of every message)
  std::uint64_t bytes_out = 0;      ///< bytes sent (routing ids excluded)
  std::uint64_t outbound_dropped = 0;  ///< frames not sent over max_outbound_bytes (also in send_failures)
  std::uint64_t revoked_frames = 0;    ///< frames dropped from connections whose key was revoked
  std::int64_t outbound_bytes = 0;     ///< bytes queued in ZeroMQ for sending now (not a counter)
};

/// Faults a test injects into one node's cluster traffic (mesh::testing::cluster): members it is
/// cut off from, in both directions, as a network partition would. Off (one relaxed load per
/// frame) unless a test turns it on.
class fault_injection {
 public:
  bool active() const noexcept { return active_.load(std::memory_order_relaxed); }
  /// Cuts this node off from the members named (replacing the previous set); empty: heals.
  void cut_off(std::set<std::string> names) {
    std::lock_guard lk(m_);
    blocked_ = std::move(names);
    active_.store(true, std::memory_order_relaxed);
  }
  bool blocks(std::string const& name) const {
    std::lock_guard lk(m_);
    return blocked_.count(name) != 0;
  }
  /// Frames on our ROUTER carry the sender's connection, not its name: heartbeats teach it.
  void learn(std::string const& rid, std::string const& name) {
    std::lock_guard lk(m_);
    if (rid_names_.size() < 4096) rid_names_[rid] = name;
  }
  bool blocks_connection(std::string_view rid) const {
    std::lock_guard lk(m_);
    auto it = rid_names_.find(std::string(rid));
    return it != rid_names_.end() && blocked_.count(it->second) != 0;
  }
  /// The node leaves without telling anyone (a crash, for the others).
  std::atomic<bool> silent_close{false};

 private:
  std::atomic<bool> active_{false};
  mutable std::mutex m_;
  std::set<std::string> blocked_;
  std::map<std::string, std::string> rid_names_;
};

class service final : public detail::reply_reader, transport::io_handler {
  using clock = detail::clock;
  using callback = detail::frame_callback;

 public:
  /// The sockets' security from the configuration; refusals are logged (rate-limited).
  [[gnu::cold]] transport::security security_from(node_config const& cfg) {
    auto s = transport::security_for(cfg);
    s.on_refused = [this](std::string_view key, std::string_view address) {
      refused_log_.note(warn_, "refused a connection from " + std::string(address) +
                                   (key.empty() ? std::string(" (not CURVE)") : " (client key " + std::string(key) + " is not admitted)"));
    };
    s.on_over_budget = [this](std::string_view address) {
      refused_log_.note(warn_, "refused a connection from " + std::string(address) + ": max_connections (" +
                                   std::to_string(cfg_.max_connections) + ") reached");
    };
    return s;
  }

  /// Binds node_config::listen (throws mesh::exception when it cannot) and starts joining the
  /// seeds. `cfg`, `members` and `h` outlive the service.
  service(host& h, node_config const& cfg, membership& members, std::uint64_t fingerprint)
      : host_(h),
        cfg_(cfg),
        members_(members),
        fingerprint_(fingerprint),
        warn_([&h](std::string const& line) { h.log(log_level::warning, line); }),
        loop_(*this, cfg.listen, cfg.max_payload_bytes, security_from(cfg), cfg.heartbeat_interval,
              transport::endpoint_limits{cfg.max_outbound_bytes, cfg.max_connections}),
        detector_(cfg.failure_timeout),
        incarnation_(random_incarnation()),
        started_(clock::now()) {
    for (auto const& seed : cfg.seeds)
      if (!is_self(seed)) joining_ = true;
    if (keeps_majority()) update_quorum(started_);
    loop_.sockets().on_bad_frame([this](std::string_view peer, std::string_view why) {
      bad_frame_log_.note(warn_, "dropped " + std::string(why) + " from " + std::string(peer));
    });
    loop_.sockets().on_over_cap([this](std::string_view peer, std::int64_t queued) {
      outbound_log_.note(warn_, "dropped output to " + std::string(peer) + ": max_outbound_bytes reached (" +
                                    std::to_string(queued) + " bytes queued)");
    });
    loop_.sockets().on_revoked([this](std::string const& rid, std::string_view key) { on_revoked_peer(rid, key); });
    join_seeds(clock::now());
    if (cfg.io_thread_runs_handlers) inliner_.emplace(loop_);
    loop_.start(inliner_ ? &*inliner_ : nullptr);
  }

  service(service const&) = delete;
  service& operator=(service const&) = delete;
  ~service() { stop(); }

  /// The endpoint actually bound (resolves "tcp://127.0.0.1:*").
  std::string const& endpoint() const noexcept { return loop_.sockets().address(); }
  /// The endpoint other members reach this node at (node_config::advertise, else the bound one).
  std::string const& advertised() const noexcept { return cfg_.advertise.empty() ? endpoint() : cfg_.advertise; }

  /// Leaves the cluster: tells every peer, fails pending calls, joins the I/O and relief threads.
  [[gnu::cold]] void stop() {
    loop_.stop();
    if (inliner_) inliner_->stop();
  }

  /// Sends a request to member `node`; `cb` gets the reply or an error frame exactly once.
  void send(std::string const& node, wire::frame&& f, clock::time_point deadline, callback cb) {
    if (loop_.stopped()) {
      cb(transport::io_loop::leaving_error());
      return;
    }
    // At once when the I/O lock is free; a command only when it must be queued.
    bool const sent = loop_.run_if_free([&] { send_request(node, f, deadline, std::move(cb)); },
                                        [&] { loop_.finish(std::move(cb), transport::io_loop::leaving_error()); });
    if (!sent) loop_.push(transport::command{transport::command::request, node, std::move(f), deadline, std::move(cb)});
  }

  /// Announces this node's capabilities to every peer now (not only at the next heartbeat).
  void capabilities_changed() { loop_.push_control(); }

  /// Hands off activations of `actor` to member `node` (a control::handoff frame on its DEALER,
  /// in order with this node's other frames to it: a leave queued after it goes after it). Any
  /// thread; lost (counted in send_failures, logged) when `node` is not a reachable member.
  [[gnu::cold]] void hand_off(std::string const& node, std::string actor, std::vector<handoff_entry> entries, bool leaving) {
    handoff h;
    h.from = cfg_.name;
    h.incarnation = incarnation_;
    h.fingerprint = fingerprint_;
    h.leaving = leaving;
    h.actor = std::move(actor);
    h.entries = std::move(entries);
    wire::frame f;
    f.h.k = wire::kind::control;
    f.h.control = static_cast<std::uint16_t>(control::handoff);
    f.body.push_back(wire::encode(h));
    if (loop_.stopped()) return;
    bool const sent = loop_.run_if_free([&] { send_handoff(node, f); }, [] {});
    if (!sent) loop_.push(transport::command{transport::command::request, node, std::move(f), {}, {}});
  }
  /// Handoff frames are cut at about this many bytes of state (well under max_payload_bytes).
  std::size_t handoff_chunk_bytes() const noexcept { return std::min<std::size_t>(cfg_.max_payload_bytes / 2, 1u << 20); }

  /// reply_reader: a thread waiting for a reply reads the ROUTER (where replies arrive) when the
  /// I/O thread sleeps, as the I/O thread would have (see io_loop, "who may touch the sockets").
  bool try_read() override {
    bool open = true;
    // A handler run inline waits here: answers its reads produce (an error for a call that would
    // wait on that very handler, say) go out now, not in its batch, which leaves after it returns.
    detail::scoped_context<void const> unbatched(&detail::thread_context::answer_collector, nullptr);
    return loop_.run_if_free([&] {
      loop_.sockets().read_router([this](std::string const& rid, wire::frame&& f) { on_router_frame(rid, std::move(f)); },
                                  [this](std::string const& rid, wire::header const& h, error const& why) { on_bad_call(rid, h, why); });
    }, [&] { open = false; }) && open;
  }
  int readable_fd() const noexcept override { return loop_.sockets().router_fd(); }
  /// reply_reader: while a waiting caller watches the ROUTER, the I/O thread sleeps without it.
  void watching(bool on) noexcept override { loop_.watching(on); }
  /// reply_reader: node_config::reply_spin.
  clock::duration spin_budget() const noexcept override { return cfg_.reply_spin; }

  /// Fault injection for tests (mesh::testing::cluster): partitions, pauses, crashes.
  fault_injection& faults() noexcept { return faults_; }
  /// Freezes the I/O thread (no frames in or out, no timers), as a process pause would; false resumes.
  void pause(bool on) { loop_.pause(on); }

  /// A cast that could not be delivered (counted in transport_stats::cast_drops).
  void count_cast_drop() noexcept { cast_drops_.fetch_add(1, std::memory_order_relaxed); }

  [[gnu::cold]] transport_stats stats() const {
    auto const& c = loop_.sockets().stats();
    transport_stats s;
    s.frames_in = c.frames_in.load();
    s.frames_out = c.frames_out.load();
    s.bad_frames = c.bad_frames.load();
    s.send_failures = c.send_failures.load();
    s.refused_peers = refused_.load();
    s.cast_drops = cast_drops_.load(std::memory_order_relaxed);
    s.bytes_in = c.bytes_in.load();
    s.bytes_out = c.bytes_out.load();
    s.outbound_dropped = c.outbound_dropped.load();
    s.revoked_frames = c.revoked_frames.load();
    s.outbound_bytes = loop_.sockets().outbound_bytes();
    return s;
  }

  /// Replaces / narrows the admitted client keys at run time (transport::endpoint::authorize_keys,
  /// revoke_key): members on connections with a key no longer admitted are dropped. Thread-safe.
  result<void> authorize_keys(std::vector<std::string> const& keys) { return loop_.sockets().authorize_keys(keys); }
  result<void> revoke_key(std::string_view key) { return loop_.sockets().revoke_key(key); }

 private:
  /// Replies up to this size are decoded into their call state while the sockets are held (the
  /// received frame's buffers are reused at once); larger ones after the lock is released, so
  /// their decoding does not hold up other threads' sends.
  static constexpr std::size_t decode_under_lock_max = 16 * 1024;

  /// Limits on what a heartbeat may claim (names, endpoints, capabilities).
  static constexpr std::size_t max_name_bytes = 255;
  static constexpr std::size_t max_capabilities = 256;


  // ---- io_handler ------------------------------------------------------------------------------

  void send_request(std::string const& node, wire::frame& f, clock::time_point deadline, callback&& cb) override {
    if (f.h.k == wire::kind::control) [[unlikely]] return send_handoff(node, f);  // queued by hand_off
    peer* p = peers_.member(node);
    bool const expects_reply = f.h.k == wire::kind::call;
    if (p && faults_.active() && faults_.blocks(p->name)) {  // lost on the way: the caller times out
      if (expects_reply) pending_.add(pending_.next_id(), pending_calls::call{node, deadline, std::move(cb)});
      return;
    }
    if (!p || !p->dealer) {
      ++loop_.sockets().stats().send_failures;
      if (!expects_reply) count_cast_drop();
      loop_.finish(std::move(cb), wire::error_frame(f.h.request_id, errc::node_unreachable,
                                                    "node '" + node + "' is not a reachable member"));
      return;
    }
    std::uint64_t const id = pending_.next_id();
    f.h.request_id = id;
    if (!loop_.sockets().send(*p->dealer, f)) {
      if (!expects_reply) count_cast_drop();
      loop_.finish(std::move(cb), wire::error_frame(id, errc::overloaded, "send queue to node '" + node + "' is full"));
      return;
    }
    if (expects_reply) pending_.add(id, pending_calls::call{node, deadline, std::move(cb)});
  }

  void on_control() override { heartbeat_all(); }

  [[gnu::cold]] void send_handoff(std::string const& node, wire::frame& f) {
    peer* p = peers_.member(node);
    if (p && faults_.active() && faults_.blocks(p->name)) return;  // lost on the way
    if (!p || !p->dealer || !loop_.sockets().send(*p->dealer, f)) {
      if (!p || !p->dealer) ++loop_.sockets().stats().send_failures;
      ignored_log_.note(warn_, "could not hand off activations to node '" + node + "' (not a reachable member, or its queue is full): their state is lost");
    }
  }

  /// A handoff is accepted only from a member of the same schema, on its own connection, naming
  /// itself (name, incarnation, fingerprint); anything else is a bad frame.
  [[gnu::cold]] void on_handoff(std::string const& rid, wire::frame const& f) {
    peer* p = peers_.by_routing_id(rid);
    auto h = wire::decode<handoff>(f.body[0]);
    if (!h || !p || !p->member || p->incompatible || h->from != p->name || h->incarnation != p->incarnation ||
        h->fingerprint != fingerprint_) {
      ++loop_.sockets().stats().bad_frames;
      ignored_log_.note(warn_, std::string("ignored a handoff ") +
                                   (!h ? "that does not decode (" + h.error().message + ")"
                                       : "from '" + h->from.substr(0, 64) + "', not a member of this schema on its own connection"));
      return;
    }
    auto const out = host_.accept_handoff(std::move(*h));
    if (out.bad) ++loop_.sockets().stats().bad_frames;
    // Entries this node does not own in its view: its rebalancer passes forward them once the
    // view settles (or at once, if it has settled already).
    if (out.stray) rebalancer_.poke();
  }

  void on_router_frame(std::string const& rid, wire::frame&& f) override {
    if (faults_.active() && faults_.blocks_connection(rid)) [[unlikely]] return;
    // (The coarse clock: last_seen only feeds failure detection, in units of heartbeat intervals.)
    if (peer* p = peers_.by_routing_id(rid)) p->last_seen = std::max(p->last_seen, detail::coarse_now());
    switch (f.h.k) {
      case wire::kind::call:
      case wire::kind::cast: on_request(rid, std::move(f)); break;
      case wire::kind::reply:
      case wire::kind::error: on_answer(std::move(f)); break;
      case wire::kind::control:
        if (f.h.control == static_cast<std::uint16_t>(control::heartbeat)) on_heartbeat(rid, f);
        else if (f.h.control == static_cast<std::uint16_t>(control::leave)) on_leave(rid, f);
        else if (f.h.control == static_cast<std::uint16_t>(control::handoff)) on_handoff(rid, f);
        else ++loop_.sockets().stats().bad_frames;
        break;
      default: ++loop_.sockets().stats().bad_frames; break;
    }
  }

  /// Answers (to a request we sent before the peer knew us as a member) and refusals.
  void on_dealer_frame(transport::dealer& d, wire::frame& f) override {
    if (faults_.active() && faults_.blocks(static_cast<peer*>(d.owner)->name)) [[unlikely]] return;
    switch (f.h.k) {
      case wire::kind::reply:
      case wire::kind::error: on_answer(std::move(f)); break;
      case wire::kind::control:
        if (f.h.control == static_cast<std::uint16_t>(control::refuse)) on_refused(d, f);
        break;
      default: ++loop_.sockets().stats().bad_frames; break;
    }
  }

  [[gnu::cold]] void on_bad_call(std::string const& rid, wire::header const& h, error const& why) override {
    auto const code = why.code == errc::too_large ? errc::too_large : errc::bad_message;
    submit_answer(rid, wire::error_frame(h.request_id, code, "node '" + cfg_.name + "' could not read the call: " + why.message));
  }

  void on_dealer_message(transport::dealer& d) override {
    auto& p = *static_cast<peer*>(d.owner);
    if (faults_.active() && faults_.blocks(p.name)) [[unlikely]] return;
    if (p.member) p.last_seen = std::max(p.last_seen, detail::coarse_now());
  }

  transport::dealer* answer_route(std::string_view rid) override {
    peer* p = peers_.by_routing_id(rid);
    return p ? p->dealer.get() : nullptr;
  }

  void on_timers(clock::time_point now, bool tick_due) override {
    pending_.expire(now, [this](callback&& cb, wire::frame&& f) { loop_.finish(std::move(cb), std::move(f)); });
    if (tick_due) tick(now);
  }

  [[gnu::cold]] void on_close() override {
    wire::frame f;
    f.h.k = wire::kind::control;
    f.h.control = static_cast<std::uint16_t>(control::leave);
    f.body.push_back(wire::encode(self_info()));
    if (!faults_.silent_close.load())
      for (auto& [ep, p] : peers_.all())
        if (p.dealer && p.member && !(faults_.active() && faults_.blocks(p.name))) loop_.sockets().send(*p.dealer, f);
    pending_.fail_all(errc::shutting_down, transport::io_loop::leaving_text,
                      [this](callback&& cb, wire::frame&& e) { loop_.finish(std::move(cb), std::move(e)); });
    for (auto& [ep, p] : peers_.all())
      if (p.dealer) loop_.unwatch(p.dealer.get());
    peers_.clear();
  }

  void hand_to_workers(detail::runnable* r) override { host_.hand_to_workers(r); }

  // ---- requests and answers ----------------------------------------------------------------------

  void on_request(std::string const& rid, wire::frame&& f) {
    bool const is_call = f.h.k == wire::kind::call;
    if (f.h.fingerprint != fingerprint_) {
      if (is_call)
        submit_answer(rid, wire::error_frame(f.h.request_id, errc::schema_mismatch,
                                             "node '" + cfg_.name + "' was built from a different schema"));
      return;
    }
    callback respond;
    if (is_call) {
      if (rid.size() < sizeof(std::uint64_t)) {
        // The identities libzmq gives DEALERs are 5 bytes: packed with their length into one
        // word, the responder is trivially copyable and small enough to live inside the
        // callback (no allocation per request).
        std::uint64_t packed = 0;
        auto const len = static_cast<unsigned char>(rid.size());
        std::memcpy(&packed, &len, 1);
        std::memcpy(reinterpret_cast<char*>(&packed) + 1, rid.data(), rid.size());
        respond = [this, packed](wire::frame&& r) {
          auto const* b = reinterpret_cast<char const*>(&packed);
          submit_answer(std::string_view(b + 1, static_cast<unsigned char>(b[0])), std::move(r));
        };
      } else {
        respond = [this, rid](wire::frame&& r) { submit_answer(rid, std::move(r)); };
      }
    }
    host_.deliver(std::move(f), std::move(respond));
  }

  void submit_answer(std::string_view rid, wire::frame&& f) {
    if (loop_.stopped()) return;
    if (faults_.active() && faults_.blocks_connection(rid)) [[unlikely]] return;
    loop_.submit_answer(rid, std::move(f));
  }

  /// A reply or error frame for one of our requests (from either socket). A small one is stored
  /// in its call state right here by the call's callback, decoded from the received frame (whose
  /// buffers the next receive reuses), and the wake-up is left to the unlock (see
  /// thread_context::publish_later); a large one is decoded after the sockets are released.
  void on_answer(wire::frame&& f) {
    auto cb = pending_.take(f.h.request_id);
    if (!cb) return;  // late reply after a timeout: dropped
    std::size_t bytes = 0;
    for (auto const& b : f.body) bytes += b.size();
    if (bytes > decode_under_lock_max) return loop_.finish(std::move(cb), std::move(f));
    detail::scoped_context<detail::stored_completion_list> storing(&detail::thread_context::publish_later, &loop_.stored());
    cb(std::move(f));
  }

  // ---- membership --------------------------------------------------------------------------------

  [[gnu::cold]] member_info self_info() const {
    member_info m;
    m.name = cfg_.name;
    m.endpoint = advertised();
    m.incarnation = incarnation_;
    m.fingerprint = fingerprint_;
    m.placement = static_cast<std::uint8_t>(cfg_.placement);
    auto caps = members_.capabilities_of(m.name);
    m.capabilities.assign(caps.begin(), caps.end());
    return m;
  }

  [[gnu::cold]] void on_heartbeat(std::string const& rid, wire::frame const& f) {
    auto g = wire::decode<gossip>(f.body[0]);
    if (!g) {
      ++loop_.sockets().stats().bad_frames;
      return;
    }
    auto const& m = g->self;
    auto const& me = cfg_.name;
    if (faults_.active()) [[unlikely]] {
      faults_.learn(rid, m.name);
      if (faults_.blocks(m.name)) return;
    }
    if (!plausible(m)) {
      ++loop_.sockets().stats().bad_frames;
      ignored_log_.note(warn_, "ignored a heartbeat with a malformed member entry (name, endpoint or capabilities)");
      return;
    }
    auto refuse = [&](errc code, std::string reason) {
      ++refused_;
      if (first_refusal(m.name + "|" + m.endpoint + "|" + std::to_string(static_cast<int>(code))))
        host_.log(log_level::warning, "refused member '" + m.name + "' at " + m.endpoint + ": " + reason);
      wire::frame r;
      r.h.k = wire::kind::control;
      r.h.control = static_cast<std::uint16_t>(control::refuse);
      r.body.push_back(wire::encode(refusal{self_info(), static_cast<std::uint16_t>(code), reason}));
      loop_.sockets().send_to(rid, r);
    };
    if (m.name == me) {
      if (m.incarnation != incarnation_) refuse(errc::already_exists, "node name '" + m.name + "' is already taken by this node");
      return;
    }
    if (m.fingerprint != fingerprint_) {
      refuse(errc::schema_mismatch, "schema fingerprint differs (built from a different schema)");
      mark_incompatible(m, &rid);
      return;
    }
    if (m.placement != static_cast<std::uint8_t>(cfg_.placement)) {
      // Members that place shards differently would each think they own ids the other serves.
      refuse(errc::schema_mismatch, std::string("node_config::placement differs (this node: ") + placement_name(cfg_.placement) +
                                        ", yours: " + placement_name(static_cast<mesh::placement>(m.placement)) +
                                        "): every member must use the same one");
      mark_incompatible(m, &rid);
      return;
    }
    auto now = clock::now();
    if (peer* old = peers_.member(m.name); old && old->incarnation != m.incarnation) {
      // Two live processes cannot listen on one endpoint: a new incarnation there is a restart.
      // (Replies arriving on our DEALER to that endpoint come from the new process and would
      // otherwise keep the old incarnation "alive" forever.)
      // A heartbeat from another connection cannot take over a live member's name: the old
      // member's connection to our ROUTER must be gone (a send to it fails; a crashed process's
      // is closed by its kernel at once) or silent for half the failure timeout.
      if (old->routing_id != rid && detector_.surely_alive(old->last_seen, now) && still_connected(*old)) {
        refuse(errc::already_exists, "node name '" + m.name + "' is already used by a live member at " + old->endpoint);
        return;
      }
      host_.log(log_level::info, "member '" + m.name + "' restarted; replacing its previous incarnation");
      drop_member(*old, errc::node_unreachable, "node '" + m.name + "' restarted");
    }
    peer* pp = ensure_peer(m.endpoint);
    if (!pp) return;
    peer& p = *pp;
    bool const joined = !p.member;
    p.incarnation = m.incarnation;
    p.last_seen = now;
    p.echo = std::max(p.echo, g->sent_at);
    // Its echo of one of our heartbeats is contact (a time from the future would be a forged lease).
    if (auto const echoed = clock::time_point(clock::duration(g->echo)); g->echo != 0 && echoed <= now)
      p.contact = std::max(p.contact, echoed);
    peers_.admit(p, m.name, rid);
    members_.set_incompatible(m.name, false);  // e.g. rebuilt from our schema and restarted
    members_.set_capabilities(m.name, std::set<std::string>(m.capabilities.begin(), m.capabilities.end()));
    if (joined) {
      host_.log(log_level::info, "member '" + m.name + "' joined from " + m.endpoint);
      send_heartbeat(p);  // answer at once so the newcomer learns us (and the members we know)
    }
    if (keeps_majority()) update_quorum(now);
    for (auto const& k : g->known) {
      if (k.name == me || is_self(k.endpoint)) continue;
      if (peers_.member(k.name) || peers_.knows(k.endpoint)) continue;
      // Every member notices a death within failure_timeout (plus a heartbeat): gossip about a
      // member we dropped longer ago than twice that comes from someone who heard from it since.
      if (peers_.buried(k.name, k.incarnation, now, 2 * cfg_.failure_timeout)) continue;
      if (!transport::endpoint::valid_address(k.endpoint) || k.name.size() > max_name_bytes) {
        ignored_log_.note(warn_, "ignored gossip about a member with a malformed name or endpoint from '" + m.name + "'");
        continue;
      }
      if (peer* q = ensure_peer(k.endpoint)) send_heartbeat(*q);  // learned by gossip: connect directly
    }
  }

  // A node built from another schema stays in the capability table, marked incompatible, so calls
  // that would route to it fail with schema_mismatch. Every member must agree on that table, so
  // incompatible nodes are gossiped too (each member gets its own refusal), and they are probed
  // with heartbeats (each answered by a refusal) and forgotten when silent for failure_timeout.
  [[gnu::cold]] void mark_incompatible(member_info const& m, std::string const* rid = nullptr) {
    if (peer* live = peers_.member(m.name); live && !live->incompatible) {
      // A compatible member owns this name: keep routing to it, unless this is that member
      // itself (same connection, or the same endpoint after its connection went away).
      bool const itself = rid ? live->routing_id == *rid || (live->endpoint == m.endpoint && !still_connected(*live))
                              : live->endpoint == m.endpoint;
      if (!itself) return;
    }
    if (!plausible(m)) return;
    peer* pp = ensure_peer(m.endpoint);
    if (!pp) return;
    peer& p = *pp;
    p.name = m.name;
    p.incarnation = m.incarnation;
    p.last_seen = clock::now();
    p.incompatible = true;
    members_.set_capabilities(m.name, std::set<std::string>(m.capabilities.begin(), m.capabilities.end()));
    members_.set_incompatible(m.name, true);
  }

  [[gnu::cold]] void on_refused(transport::dealer& d, wire::frame const& f) {
    auto r = wire::decode<refusal>(f.body[0]);
    if (!r) {
      ++loop_.sockets().stats().bad_frames;
      return;
    }
    ++refused_;
    if (first_refusal("by|" + r->self.name + "|" + std::to_string(r->code)))
      host_.log(log_level::warning, "refused by member '" + r->self.name + "' at " + d.address + ": " + r->reason);
    if (r->code == static_cast<std::uint16_t>(errc::schema_mismatch)) mark_incompatible(r->self);
  }

  /// A member whose connection presents a revoked key is dropped (it cannot come back: its
  /// handshakes are refused and its frames dropped).
  [[gnu::cold]] void on_revoked_peer(std::string const& rid, std::string_view key) {
    peer* p = peers_.by_routing_id(rid);
    if (!p) return;
    host_.log(log_level::warning, "member '" + p->name + "' presents revoked key " + std::string(key) + "; removing it");
    drop_member(*p, errc::unauthorized, "node '" + p->name + "' was revoked");
  }

  /// A leave is believed only on the leaving member's own connection.
  [[gnu::cold]] void on_leave(std::string const& rid, wire::frame const& f) {
    auto m = wire::decode<member_info>(f.body[0]);
    if (!m) {
      ++loop_.sockets().stats().bad_frames;
      return;
    }
    if (peer* p = peers_.member(m->name); p && p->incarnation == m->incarnation) {
      if (p->routing_id != rid) {
        ignored_log_.note(warn_, "ignored a leave for member '" + m->name + "' sent on another member's connection");
        return;
      }
      host_.log(log_level::info, "member '" + m->name + "' left");
      drop_member(*p, errc::node_unreachable, "node '" + m->name + "' left the cluster");
    }
  }

  /// The peer at `endpoint`, with a DEALER connected to it; null (logged) when the endpoint is
  /// not valid, max_peers are known already, or the socket cannot be made.
  [[gnu::cold]] peer* ensure_peer(std::string const& endpoint) {
    if (!peers_.knows(endpoint)) {
      if (!transport::endpoint::valid_address(endpoint)) {
        ignored_log_.note(warn_, "ignored the malformed endpoint '" + endpoint.substr(0, 64) + "'");
        return nullptr;
      }
      if (peers_.all().size() >= cfg_.max_peers) {
        ignored_log_.note(warn_, "ignored peer " + endpoint + ": max_peers (" + std::to_string(cfg_.max_peers) + ") reached");
        return nullptr;
      }
    }
    peer& p = peers_.at(endpoint);
    if (!p.dealer) {
      try {
        p.dealer = loop_.sockets().open_dealer(endpoint);
      } catch (zmq::error_t const& e) {
        ignored_log_.note(warn_, "cannot connect to " + endpoint + ": " + e.what());
        if (!p.member) peers_.remove(p);
        return nullptr;
      }
      p.dealer->owner = &p;
      loop_.watch(p.dealer.get());
    }
    return &p;
  }

  void contact(std::string const& endpoint) { ensure_peer(endpoint); }

  bool is_self(std::string const& ep) const { return ep == endpoint() || ep == advertised(); }

  /// How often "dns://" seeds are resolved again once this node has members (alone, at every
  /// tick): new members appear under the name (a scaled-up StatefulSet) while gossip covers the rest.
  static constexpr auto dns_refresh = std::chrono::seconds(10);

  /// Contacts the seeds this node has no socket to; "dns://name:port" seeds are resolved to
  /// every address the name has (blocking getaddrinfo on the I/O thread: a join attempt).
  [[gnu::cold]] void join_seeds(clock::time_point now) {
    bool const alone = members_.members().size() <= 1;
    bool const resolve = alone || now >= next_dns_;
    for (auto const& s : cfg_.seeds) {
      if (!s.starts_with("dns://")) {
        if (seed_endpoints_.size() < cfg_.max_peers) seed_endpoints_.insert(s);
        if (!is_self(s) && !peers_.knows(s)) contact(s);
        continue;
      }
      if (!resolve) continue;
      auto addresses = transport::resolve_dns_seed(s);
      if (!addresses) {
        ignored_log_.note(warn_, addresses.error().message);
        continue;
      }
      for (auto const& ep : *addresses) {
        if (seed_endpoints_.size() < cfg_.max_peers) seed_endpoints_.insert(ep);
        if (!is_self(ep) && !peers_.knows(ep)) contact(ep);
      }
    }
    if (resolve) next_dns_ = now + dns_refresh;
  }

  /// True the first time a refusal is seen (logged once; at most max_logged_refusals remembered,
  /// so made-up names cannot grow the set without bound; past it, refusals are rate-limited).
  bool first_refusal(std::string key) {
    static constexpr std::size_t max_logged_refusals = 1024;
    if (logged_refusals_.size() < max_logged_refusals) return logged_refusals_.insert(std::move(key)).second;
    return false;
  }

  static char const* placement_name(mesh::placement p) {
    switch (p) {
      case mesh::placement::modulo: return "modulo";
      case mesh::placement::rendezvous: return "rendezvous";
    }
    return "unknown";
  }

  /// A heartbeat's claims are within bounds: a valid endpoint, a name and capabilities of sane size.
  static bool plausible(member_info const& m) {
    if (m.name.empty() || m.name.size() > max_name_bytes || !transport::endpoint::valid_address(m.endpoint)) return false;
    if (m.capabilities.size() > max_capabilities) return false;
    for (auto const& c : m.capabilities)
      if (c.size() > max_name_bytes) return false;
    return true;
  }

  /// True when member `p`'s connection to our ROUTER is still up (a harmless heartbeat to it
  /// goes through; router_mandatory fails a send to a closed connection).
  [[gnu::cold]] bool still_connected(peer const& p) {
    if (p.routing_id.empty()) return false;
    gossip g;
    g.self = self_info();
    g.sent_at = static_cast<std::uint64_t>(clock::now().time_since_epoch().count());
    wire::frame f;
    f.h.k = wire::kind::control;
    f.h.control = static_cast<std::uint16_t>(control::heartbeat);
    f.body.push_back(wire::encode(g));
    return loop_.sockets().send_to(p.routing_id, f);
  }

  /// Forgets peer `p` (its DEALER closes).
  [[gnu::cold]] void forget(peer& p) {
    if (p.dealer) loop_.unwatch(p.dealer.get());
    peers_.remove(p);
  }

  [[gnu::cold]] void drop_member(peer& p, errc code, std::string const& why) {
    std::string const name = p.name;
    pending_.fail_node(name, code, why, [this](callback&& cb, wire::frame&& e) { loop_.finish(std::move(cb), std::move(e)); });
    members_.remove(name);
    forget(p);
    if (keeps_majority()) update_quorum(clock::now());
  }

  [[gnu::cold]] void send_heartbeat(peer& p) {
    if (!p.dealer) return;  // incompatible peers too: their refusal tells us they are alive
    if (faults_.active() && faults_.blocks(p.name)) [[unlikely]] return;
    gossip g;
    g.self = self_info();
    g.sent_at = static_cast<std::uint64_t>(clock::now().time_since_epoch().count());
    g.echo = p.echo;
    for (auto const& [ep, q] : peers_.all())
      if (q.member || q.incompatible) {
        member_info k;
        k.name = q.name;
        k.endpoint = q.endpoint;
        k.incarnation = q.incarnation;
        g.known.push_back(std::move(k));
      }
    wire::frame f;
    f.h.k = wire::kind::control;
    f.h.control = static_cast<std::uint16_t>(control::heartbeat);
    f.body.push_back(wire::encode(g));
    loop_.sockets().send(*p.dealer, f);
  }

  [[gnu::cold]] void heartbeat_all() {
    for (auto& [ep, p] : peers_.all()) send_heartbeat(p);
  }

  [[gnu::cold]] void tick(clock::time_point now) {
    if (keeps_majority()) update_quorum(now);
    for (auto const& ep : detector_.dead_members(peers_, now)) {
      peer& p = peers_.all().at(ep);
      if (keeps_majority() && !serving_) {
        // Cut off from the majority: our view of who is dead may be the wrong one (we may be the
        // one cut off). Keep the member, so that our table is the one the cluster had when we
        // left it, and we rejoin it as it was; only its pending calls fail now.
        pending_.fail_node(p.name, errc::node_unreachable, "node '" + p.name + "' stopped answering",
                           [this](callback&& cb, wire::frame&& e) { loop_.finish(std::move(cb), std::move(e)); });
        continue;
      }
      host_.log(log_level::warning, "member '" + p.name + "' is unreachable (no heartbeat for " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(detector_.timeout()).count()) +
                " ms); removing it");
      drop_member(p, errc::node_unreachable, "node '" + p.name + "' stopped answering");
    }
    // Incompatible nodes that stopped refusing us are gone: take them out of the capability table.
    for (auto const& ep : detector_.gone_incompatible(peers_, now)) {
      peer& p = peers_.all().at(ep);
      std::string const name = p.name;
      forget(p);
      host_.log(log_level::info, "incompatible node '" + name + "' at " + ep + " is gone; removing it");
      if (!peers_.member(name)) members_.remove(name);
    }
    // Seeds we lost are contacted again, so a restarted seed is rejoined.
    join_seeds(now);
    heartbeat_all();
    rebalancer_.tick(host_, members_);
    if (keeps_majority() && !serving_) host_.retire_moved_activations();  // fenced: route_for fails for every id
  }

  // ---- quorum (partition_mode::keep_majority; cluster/quorum.hpp, docs/fencing.md) ---------------

  bool keeps_majority() const noexcept { return cfg_.partition_mode == partition_mode::keep_majority; }

  /// Recomputes until when this node keeps a majority and publishes it to the node; logs and
  /// fences (every activation becomes stale) when it lost the majority since the last update.
  [[gnu::cold]] void update_quorum(clock::time_point now) {
    if (joining_ && (now - started_ >= cfg_.failure_timeout || joined_cluster())) joining_ = false;
    bool const lost = serving_ && now >= until_;  // expired since the last update
    std::vector<voter> voters;
    // One snapshot for every member (capabilities_of would lock and copy a set per member).
    auto const snap = members_.snapshot();
    auto const hosts_something = [&](std::string const& name) {
      auto it = snap->capabilities_by_node.find(name);
      return it != snap->capabilities_by_node.end() && !it->second.empty();
    };
    if (hosts_something(cfg_.name)) voters.push_back({cfg_.name, clock::time_point::max()});
    std::size_t reachable = voters.size();
    for (auto const& [ep, p] : peers_.all()) {
      if (!p.member || !hosts_something(p.name)) continue;
      // A member joins the membership we count once it has echoed us (a round trip): admitted
      // but not yet heard back from, it would only make a majority look lost for that moment.
      if (p.contact == clock::time_point{}) continue;
      voters.push_back({p.name, p.contact});
      if (now - p.contact < cfg_.quorum_lease) ++reachable;
    }
    // A node hosting no capability owns nothing to fence: the owners it calls check their own
    // quorum (and its calls would fail only for a slow heartbeat of theirs, under load).
    bool const votes = !voters.empty() && voters.front().contact == clock::time_point::max();
    auto const until = !votes ? clock::time_point::max() : joining_ ? clock::time_point::min() : quorum_until(voters, cfg_.quorum_lease);
    bool const ok = now < until;
    if (lost)
      host_.log(log_level::warning, "lost contact with a majority of the cluster (" + std::to_string(reachable) + " of " +
                                        std::to_string(voters.size()) + " members reachable): serving nothing until it is back");
    else if (!serving_ && ok && has_served_)
      host_.log(log_level::info, "in contact with a majority of the cluster again (" + std::to_string(reachable) + " of " +
                                     std::to_string(voters.size()) + " members): serving");
    if (until != until_ || lost) host_.set_serving_until(until, lost);
    until_ = until;
    serving_ = ok;
    has_served_ = has_served_ || ok;
  }

  /// A joining node has joined once it has a member and has heard from every member it learned of
  /// by gossip (a seed that does not answer may just be down).
  bool joined_cluster() {
    bool any = false;
    for (auto const& [ep, p] : peers_.all()) {
      if (p.member) any = true;
      else if (!p.incompatible && !seed_endpoints_.count(ep)) return false;
    }
    return any;
  }

  host& host_;
  node_config const& cfg_;
  membership& members_;
  std::uint64_t const fingerprint_;
  std::function<void(std::string const&)> warn_;                         // a warning through host_
  detail::rate_limited_log bad_frame_log_, refused_log_, ignored_log_, outbound_log_;  // before loop_: its threads use them
  transport::io_loop loop_;
  std::optional<transport::inline_runner> inliner_;  // node_config::io_thread_runs_handlers
  failure_detector detector_;
  std::uint64_t incarnation_ = 0;
  // I/O lock only:
  peer_table peers_;
  pending_calls pending_;
  rebalancer rebalancer_;
  clock::time_point next_dns_{};
  std::set<std::string> logged_refusals_;
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> cast_drops_{0};
  fault_injection faults_;
  // Quorum (I/O lock only):
  clock::time_point const started_;
  bool joining_ = false;                              // seeds configured, cluster not reached yet
  bool serving_ = true;                               // as of the last update_quorum
  bool has_served_ = false;
  std::set<std::string> seed_endpoints_;  // seeds as contacted (dns:// ones resolved)
  clock::time_point until_ = clock::time_point::max();  // as last published
};

}  // namespace mesh::cluster
