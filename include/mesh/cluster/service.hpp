#pragma once
/// The cluster service of a node: one I/O thread owning a ROUTER (bound to node_config::listen)
/// and one DEALER per peer; membership by gossiped heartbeats; failure detection; request/reply
/// correlation; rebalancing when shard owners change. See docs/architecture.md, "Cluster".

#include <mesh/actor/runtime.hpp>
#include <mesh/transport/mpsc_queue.hpp>
#include <mesh/wire/error_frame.hpp>
#include <mesh/wire/frame.hpp>

#include <zmq.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace mesh::cluster {

/// Control message types (wire::header::control). Numbers are on the wire.
enum class control : std::uint16_t {
  heartbeat = 1,  ///< body: gossip. Sent DEALER->ROUTER every heartbeat_interval; also the join.
  refuse = 2,     ///< body: refusal. ROUTER->DEALER answer to a heartbeat that is not accepted.
  leave = 3,      ///< body: member_info. Graceful departure.
};

/// A member as gossiped.
struct member_info {
  BOOST_HANA_DEFINE_STRUCT(member_info,
                           (std::string, name),
                           (std::string, endpoint),
                           (std::uint64_t, incarnation),
                           (std::uint64_t, fingerprint),
                           (std::vector<std::string>, capabilities));
};
struct gossip {
  BOOST_HANA_DEFINE_STRUCT(gossip, (member_info, self), (std::vector<member_info>, known));
};
struct refusal {
  BOOST_HANA_DEFINE_STRUCT(refusal, (member_info, self), (std::uint16_t, code), (std::string, reason));
};

/// Counters a node exposes about its transport (all monotonically increasing).
struct transport_stats {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bad_frames = 0;      ///< undecodable frames dropped
  std::uint64_t send_failures = 0;   ///< frames not sent: peer not a member, HWM reached, peer gone
  std::uint64_t refused_peers = 0;   ///< heartbeats refused (schema mismatch, duplicate name)
};

/// A fresh incarnation number for this process's membership (getrandom(2); <random> would cost
/// every translation unit its parse time for one number).
inline std::uint64_t random_incarnation() noexcept {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) v = 0;
  return v ^ (std::uint64_t(::getpid()) << 40) ^ std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
}

class service final : public detail::reply_reader {
  using clock = detail::clock;
  using callback = detail::frame_callback;

 public:
  explicit service(detail::node_core& core)
      : core_(core), ctx_(1), router_(ctx_, zmq::socket_type::router) {
    incarnation_ = random_incarnation();
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.set(zmq::sockopt::sndhwm, 100000);
    router_.set(zmq::sockopt::rcvhwm, 100000);
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(core_.config().max_payload_bytes + 64 * 1024));
    try {
      router_.bind(core_.config().listen);
    } catch (zmq::error_t const& e) {
      throw mesh::exception(fail(errc::invalid_argument, "cannot bind '" + core_.config().listen + "': " + e.what()));
    }
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    router_fd_ = router_.get(zmq::sockopt::fd);
    for (auto const& s : core_.config().seeds)
      if (s != endpoint_) contact(s);
    if (core_.config().io_thread_runs_handlers) {
      relief_timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
      relief_stop_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (relief_timer_ >= 0 && relief_stop_ >= 0) relief_thread_ = std::thread([this] { relief_loop(); });
    }
    thread_ = std::thread([this] { loop(); });
  }

  service(service const&) = delete;
  service& operator=(service const&) = delete;
  ~service() { stop(); }

  /// The endpoint actually bound (resolves "tcp://127.0.0.1:*").
  std::string const& endpoint() const noexcept { return endpoint_; }

  /// Leaves the cluster: tells every peer, fails pending calls, joins the I/O thread.
  [[gnu::cold]] void stop() {
    if (stopped_.exchange(true)) return;
    cmds_.ring();
    if (thread_.joinable()) thread_.join();
    if (relief_thread_.joinable()) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(relief_stop_, &one, sizeof one);
      relief_thread_.join();
    }
    for (int fd : {relief_timer_, relief_stop_})
      if (fd >= 0) ::close(fd);
    relief_timer_ = relief_stop_ = -1;
  }

  /// Sends a request to member `node`; `cb` gets the reply or an error frame exactly once.
  void send(std::string const& node, wire::frame&& f, clock::time_point deadline, callback cb) {
    if (stopped_.load()) {
      cb(wire::error_frame(0, errc::shutting_down, "node is leaving the cluster"));
      return;
    }
    // At once when the I/O lock is free; a command only when it must be queued.
    bool const sent = run_if_io_free([&] { send_request(node, f, deadline, std::move(cb)); },
                                     [&] { finish(std::move(cb), leaving_error()); });
    if (!sent) cmds_.push(command{command::request, node, {}, std::move(f), deadline, std::move(cb)});
  }

  /// Announces this node's capabilities to every peer now (not only at the next heartbeat).
  void capabilities_changed() { cmds_.push(command{command::announce, {}, {}, {}, {}, {}}); }

  /// reply_reader: a thread waiting for a reply reads the ROUTER (where replies arrive) when the
  /// I/O thread sleeps, as the I/O thread would have (see "who may touch the sockets").
  bool try_read() override {
    bool open = true;
    return run_if_io_free([&] { read_router(); }, [&] { open = false; }) && open;
  }
  int readable_fd() const noexcept override { return router_fd_; }

  /// reply_reader: while a waiting caller watches the ROUTER, the I/O thread sleeps without it,
  /// for at most a millisecond at a time (see loop).
  void watching(bool on) noexcept override {
    if (on) watchers_.fetch_add(1, std::memory_order_relaxed);
    else watchers_.fetch_sub(1, std::memory_order_relaxed);
  }

  /// reply_reader: node_config::reply_spin.
  clock::duration spin_budget() const noexcept override { return core_.config().reply_spin; }

  [[gnu::cold]] transport_stats stats() const {
    transport_stats s;
    s.frames_in = frames_in_.load();
    s.frames_out = frames_out_.load();
    s.bad_frames = bad_frames_.load();
    s.send_failures = send_failures_.load();
    s.refused_peers = refused_.load();
    return s;
  }

 private:
  struct command {
    enum kind_t { request, reply, announce } k;
    std::string node;        // request: target member
    std::string routing_id;  // reply: ROUTER identity of the requester
    wire::frame frame;
    clock::time_point deadline;
    callback cb;
  };

  struct peer {
    std::string endpoint;
    std::string name;  // empty until it heartbeats us (a seed we only know by endpoint)
    std::uint64_t incarnation = 0;
    std::unique_ptr<zmq::socket_t> dealer;
    int dealer_fd = -1;      // its ZMQ_FD, polled while the I/O lock is free
    bool armed = false;      // see "who may touch the sockets": drained, its ZMQ_FD will signal
    bool read_now = true;    // read at the next iteration whatever poll(2) says (new, or backlog)
    std::string routing_id;  // its DEALER's identity as seen by our ROUTER
    clock::time_point last_seen{};
    bool member = false;      // heard from directly and accepted
    bool incompatible = false;
  };

  struct pending {
    std::string node;
    clock::time_point deadline;
    callback cb;
  };
  using pending_map = std::unordered_map<std::uint64_t, pending>;  // by request id

  struct completion {
    callback cb;
    wire::frame f;
  };

  // ---- I/O thread ---------------------------------------------------------------------------

  // ---- who may touch the sockets ------------------------------------------------------------
  //
  // Every socket and all I/O state below belong to whoever holds io_m_: usually the I/O thread,
  // which releases it only while it sleeps in poll(2) on the sockets' ZMQ_FDs and the command
  // doorbell. A thread that sends (a caller's request, a worker's reply) takes it with try_lock
  // and sends itself, saving two thread hand-offs per round trip; when the lock is busy the
  // command goes through the queue as before. Nothing that wakes a thread or runs user code
  // happens under the lock: a small reply is stored in its call state there (on_answer) and the
  // state published, like every other completion, by the thread that releases it (unlock_io).
  //
  // Which socket carries what: requests, casts and control go DEALER -> ROUTER; the answer to a
  // request (reply or error) goes back the same way, on the answering node's DEALER to the
  // requester's ROUTER (the ROUTER to the requester's DEALER only when the requester is not a
  // member yet). So the ROUTER receives nearly everything and is rarely sent on, and a DEALER is
  // sent on all the time and receives only refusals (answers to our heartbeats).
  //
  // ZMQ_FD is edge-like: any libzmq call on a socket may consume the signal of a message that
  // just arrived. A socket is "armed" when the last libzmq call on it was a receive that found
  // nothing (EAGAIN) or a ZMQ_EVENTS without POLLIN: every command it got has been processed, so
  // its ZMQ_FD becomes readable when a message arrives. A send disarms it (it may process
  // commands). Each iteration of the I/O thread sends the queued commands first, then reads the
  // ROUTER when it is disarmed or poll(2) reported its ZMQ_FD readable, and a DEALER when poll(2)
  // reported it readable (or at a heartbeat tick when it is disarmed), until EAGAIN (armed again).
  // Before it sleeps it checks ZMQ_EVENTS on the ROUTER if it is still disarmed. A thread that
  // sent directly does the same when the I/O thread sleeps, and rings the doorbell when a message
  // is waiting that the sleeping I/O thread could no longer see. Idle sockets and sends on
  // DEALERs thus cost no libzmq call (each is a poll(2) and a getpid(2) inside libzmq), only their
  // place in the one poll(2) per iteration. The price: a refusal whose signal a send on its
  // DEALER ate waits for the next tick (heartbeat_interval).

  bool holds_io_lock() const noexcept { return io_owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }

  void lock_io() {
    io_m_.lock();
    io_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }

  /// Releases the I/O lock, then publishes the replies stored meanwhile and runs the callbacks
  /// completed meanwhile.
  void unlock_io() {
    // Both lists go to per-thread vectors whose (empty) storage the members take over, so
    // neither allocates again once grown. A callback that completes more (nested unlock_io on
    // this thread, maybe of another node) uses local vectors.
    struct spare {
      std::vector<completion> v;
      detail::stored_completion_list s;
      bool busy = false;
    };
    thread_local spare tl;
    std::vector<completion> local;
    detail::stored_completion_list local_stored;
    bool const own = !tl.busy;
    auto& done = own ? tl.v : local;
    auto& stored = own ? tl.s : local_stored;
    done.swap(completions_);
    stored.swap(stored_);
    io_owner_.store(std::thread::id{}, std::memory_order_relaxed);
    io_m_.unlock();
    if (done.empty() && stored.empty()) return;
    struct release {
      std::vector<completion>& done;
      detail::stored_completion_list& stored;
      bool own;
      ~release() {
        done.clear();
        stored.clear();
        if (own) tl.busy = false;
      }
    } r{done, stored, own};
    if (own) tl.busy = true;
    // A stored call is claimed: it must be published even if publishing an earlier one throws
    // (continuations cannot: future::then catches; a reply type's throwing move can), or its
    // waiter would wait for ever. The first exception goes on afterwards.
    std::exception_ptr thrown;
    for (auto& c : stored) {
      try {
        c.publish(c.state.get());
      } catch (...) {
        if (!thrown) thrown = std::current_exception();
      }
    }
    for (auto& c : done)
      if (c.cb) c.cb(std::move(c.f));
    if (thrown) std::rethrow_exception(thrown);
  }

  /// Completes a request (run after the I/O lock is released).
  void finish(callback&& cb, wire::frame&& f) { completions_.emplace_back(std::move(cb), std::move(f)); }

  [[gnu::cold]] static wire::frame leaving_error() {
    return wire::error_frame(0, errc::shutting_down, "node is leaving the cluster");
  }

  /// Sends the answer to a request from `rid` from any thread: at once when the I/O lock is free,
  /// else queued (the frame is dropped once the sockets are closed: its requester hears nothing
  /// more from us either way).
  void submit_answer(std::string_view rid, wire::frame&& f) {
    if (detail::this_thread_context().answer_collector == this) return collect_answer(rid, f);
    bool const sent = run_if_io_free([&] { send_answer(rid, f); }, [] {});
    if (!sent) cmds_.push(command{command::reply, {}, std::string(rid), std::move(f), {}, {}});
  }

  // ---- answers collected into batches ---------------------------------------------------------
  //
  // While the I/O thread runs handlers (run_inline), the answers they produce are collected per
  // requester and go out as one batch frame (docs/wire.md, "Batches"): one ZeroMQ message, one
  // lock round and one pass through libzmq's pipes and I/O threads on both ends, instead of one
  // per answer. Nothing waits for more answers to come: a batch goes out when the handlers that
  // were runnable have run, when a handler is about to wait, at 64 answers or 64 KiB, when its
  // first answer is 50 us old at the next answer, and when the relief thread takes over from a
  // handler that runs long (so an answer waits at most that long behind a slow handler that
  // started after it). A lone answer goes out as the plain frame. outbox_m_ guards the outbox
  // (the I/O thread collects, the relief thread may flush); it is taken before io_m_, and only
  // with try_lock, so neither order can deadlock.

  struct answer_batch {
    std::string rid;
    std::string bytes;            // a batch's body part (wire::batch_writer::start_body)
    std::uint32_t n = 0;          // answers in it (0: a free entry)
    std::uint32_t first_parts = 0;  // the first answer's parts (header + body) and where each ends
    std::size_t first_end[1 + wire::body_parts::capacity] = {};
  };
  static constexpr std::uint32_t batch_max_frames = 64;
  static constexpr std::size_t batch_max_bytes = 64 * 1024;
  static constexpr auto batch_max_age = std::chrono::microseconds(50);

  void collect_answer(std::string_view rid, wire::frame const& f) {
    std::size_t bytes = f.h.text.size() + f.h.node.size();
    for (auto const& b : f.body) bytes += b.size();
    if (bytes > batch_max_bytes / 4) return send_alone(rid, f);
    std::unique_lock lk(outbox_m_);
    answer_batch* e = nullptr;
    answer_batch* free_entry = nullptr;
    for (auto& x : outbox_) {
      if (x.n && x.rid == rid) e = &x;
      else if (!x.n && !free_entry) free_entry = &x;
    }
    if (!e) {
      e = free_entry ? free_entry : &outbox_.emplace_back();
      e->rid.assign(rid);
      wire::batch_writer::start_body(e->bytes);
      if (outbox_n_ == 0) outbox_since_ = clock::now();
    }
    auto& b = e->bytes;
    wire::batch_writer::append_body(b, f);
    if (e->n == 0) {  // where its parts end, to send it as itself if it stays alone
      e->first_parts = static_cast<std::uint32_t>(1 + f.body.size());
      std::size_t end = b.size();
      for (std::size_t i = f.body.size(); i > 0; --i) {
        e->first_end[i] = end;
        end -= f.body[i - 1].size();
      }
      e->first_end[0] = end;
    }
    ++e->n;
    ++outbox_n_;
    bool const full = e->n >= batch_max_frames || b.size() >= batch_max_bytes;
    if (!full && clock::now() - outbox_since_ < batch_max_age) return;
    lk.unlock();
    flush_answers();
  }

  /// Sends the answers collected so far (from the collecting thread, or the relief thread).
  void flush_answers() {
    std::vector<answer_batch> out;
    {
      std::lock_guard lk(outbox_m_);
      if (outbox_n_ == 0) return;
      out.swap(outbox_);
      outbox_n_ = 0;
    }
    if (!run_if_io_free([&] { send_outbox(out); }, [] {})) queue_outbox(out);
    for (auto& e : out) e.n = 0;
    if (out.size() > 8) out.resize(8);  // a burst for many requesters leaves at most 8 buffers behind
    std::lock_guard lk(outbox_m_);
    if (outbox_.empty()) outbox_.swap(out);  // the entries keep their buffers for the next batches
  }

  /// A large answer goes alone, after those collected before it.
  [[gnu::cold]] void send_alone(std::string_view rid, wire::frame const& f) {
    flush_answers();
    bool const sent = run_if_io_free([&] { send_answer(rid, f); }, [] {});
    if (!sent) cmds_.push(command{command::reply, {}, std::string(rid), f, {}, {}});
  }

  /// The sockets are busy (a caller or the relief thread): the batches are queued, in order.
  [[gnu::cold]] void queue_outbox(std::vector<answer_batch>& out) {
    for (auto& e : out) {
      if (!e.n) continue;
      wire::frame f;
      f.h.k = wire::kind::batch;
      f.h.frames = e.n;
      wire::batch_writer::finish_body(e.bytes);
      f.body.push_back(std::move(e.bytes));
      cmds_.push(command{command::reply, {}, e.rid, std::move(f), {}, {}});
    }
  }

  /// Under the I/O lock: collected answers, a batch per requester (a lone one as itself).
  void send_outbox(std::vector<answer_batch>& out) {
    for (auto& e : out) {
      if (!e.n) continue;
      std::string_view parts[1 + wire::body_parts::capacity];
      std::size_t count = 2;
      if (e.n == 1) {
        std::size_t begin = wire::batch_writer::prefix;
        for (std::size_t i = 0; i < e.first_parts; ++i) {
          parts[i] = std::string_view(e.bytes).substr(begin, e.first_end[i] - begin);
          begin = e.first_end[i];
        }
        count = e.first_parts;
      } else {
        wire::header h;
        h.k = wire::kind::batch;
        h.frames = e.n;
        wire::encode_header_to(tx_header_, h);
        wire::batch_writer::finish_body(e.bytes);
        parts[0] = tx_header_;
        parts[1] = e.bytes;
      }
      send_answer_parts(e.rid, std::span<std::string_view const>(parts, count), e.n);
      e.n = 0;
    }
  }

  /// Runs `work()` on this thread under the I/O lock when nobody holds it (the I/O thread sleeps),
  /// after the commands queued before it (per-sender order), or `closed()` once leave() closed the
  /// sockets. False when the lock was busy (neither ran).
  template <class Work, class Closed>
  bool run_if_io_free(Work&& work, Closed&& closed) {
    if (holds_io_lock() || !io_m_.try_lock()) return false;
    io_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    if (io_closed_.load(std::memory_order_relaxed)) {
      closed();
    } else {
      cmds_.drain([&](command&& q) { handle(std::move(q)); });
      work();
      // Our libzmq calls may have eaten the ZMQ_FD signal of a message the I/O thread sleeps on.
      // (It announces its sleep under the lock; if it has not, it reads the disarmed ROUTER first.)
      if (cmds_.consumer_sleeping() && messages_waiting()) cmds_.ring();
    }
    unlock_io();
    return true;
  }

  /// Rebuilds the poll set (ROUTER, command doorbell, one DEALER per peer) after peers changed.
  [[gnu::cold]] void rebuild_poll_items() {
    // The last poll's results do not carry over: read every socket once.
    router_armed_ = false;
    for (auto& [ep, p] : peers_) p.read_now = true;
    poll_fds_.clear();
    poll_peers_.clear();
    poll_fds_.push_back({router_fd_, POLLIN, 0});
    poll_fds_.push_back({cmds_.fd(), POLLIN, 0});
    for (auto& [ep, p] : peers_)
      if (p.dealer) {
        poll_fds_.push_back({p.dealer_fd, POLLIN, 0});
        poll_peers_.push_back(&p);
      }
    poll_dirty_ = false;
  }

  /// True when the ROUTER is disarmed and holds a message (ZMQ_EVENTS, which arms it otherwise),
  /// or a DEALER has more to read now. (See "who may touch the sockets".) Also true while the
  /// poll set is stale (a read dropped or replaced a peer: poll_peers_ may point at freed
  /// peers), so that the I/O thread wakes and rebuilds it.
  bool messages_waiting() {
    if (poll_dirty_) return true;
    if (!router_armed_) {
      if (router_.get(zmq::sockopt::events) & ZMQ_POLLIN) return true;
      router_armed_ = true;
    }
    for (auto* p : poll_peers_)
      if (p->read_now) return true;
    return false;
  }

  void loop() {
    next_tick_ = clock::now();
    lock_io();
    while (!stopped_.load()) iteration(true);
    cmds_.drain([&](command&& c) { handle(std::move(c)); });  // sent before the leave, as queued
    leave();
    unlock_io();
  }

  /// One pass of the I/O loop: sends, reads, timers, then one poll(2) (a sleep when nothing is
  /// left). Called with the I/O lock held; returns with it held. `may_inline`: the I/O thread's
  /// own passes (see run_inline); the relief thread's are not.
  void iteration(bool may_inline) {
    auto const hb = core_.config().heartbeat_interval;
    if (poll_dirty_) rebuild_poll_items();
    bool const tick_due = clock::now() >= next_tick_;
    // Queued sends first: the reads below then leave the ROUTER armed.
    cmds_.drain([&](command&& c) { handle(std::move(c)); });
    if (!router_armed_ || (poll_fds_[0].revents & (POLLIN | POLLERR))) {
      // Activations the requests make runnable are collected, not queued (see run_inline).
      bool const inline_on = may_inline && relief_thread_.joinable() && clock::now() >= inline_off_until_;
      detail::scoped_context<detail::inline_batch> collect(&detail::thread_context::inline_target, inline_on ? &inline_ : nullptr);
      read_router();
    }
    // read_router() may drop or replace peers: their entries are stale until the rebuild.
    for (std::size_t i = 0; i < poll_peers_.size() && !poll_dirty_; ++i) {
      peer& p = *poll_peers_[i];
      if (p.read_now || (poll_fds_[2 + i].revents & (POLLIN | POLLERR)) || (tick_due && !p.armed)) read_dealer(p);
    }
    if (may_inline && inline_.n) {
      unlock_io();
      run_inline();
      lock_io();
    }
    auto now = clock::now();
    expire_pending(now);
    if (tick_due) {
      tick(now);
      next_tick_ = now + hb;
      now = clock::now();
    }
    if (poll_dirty_) rebuild_poll_items();
    // Sleep only when nothing is left: every socket armed (read until EAGAIN, or checked) and
    // without a message, no command queued. Whatever arrives from now on wakes the poll(2).
    auto const wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick_ - now);
    auto const timeout = std::max(std::chrono::milliseconds(0), std::min(wait, std::chrono::milliseconds(20)));
    bool const sleeping = timeout.count() > 0 && !messages_waiting() && cmds_.prepare_sleep();
    // While callers wait in call_state::wait_reading they watch the ROUTER (and read it): we
    // leave it out (poll(2) ignores a negative fd), so that a reply wakes one thread, not two
    // competing for the cores. Their waits end without telling us, so such a sleep lasts at
    // most 1 ms: the longest a request can wait unread after the last caller stopped watching.
    bool const skip_router = sleeping && watchers_.load(std::memory_order_relaxed) > 0;
    poll_fds_[0].fd = skip_router ? -1 : router_fd_;
    auto const sleep_ms = skip_router ? std::min<long>(timeout.count(), 1) : static_cast<long>(timeout.count());
    unlock_io();
    // One poll(2) per iteration, also when not sleeping (timeout 0): it tells which armed
    // sockets received something, which is cheaper than asking each of them.
    int const rc = ::poll(poll_fds_.data(), static_cast<nfds_t>(poll_fds_.size()), sleeping ? static_cast<int>(sleep_ms) : 0);
    if (sleeping) cmds_.end_sleep();
    if (skip_router) {
      poll_fds_[0].fd = router_fd_;
      poll_fds_[0].revents = 0;
    }
    if (rc > 0 && (poll_fds_[1].revents & POLLIN)) cmds_.clear_doorbell();
    if (rc <= 0)
      for (auto& pf : poll_fds_) pf.revents = 0;
    lock_io();
  }

  // ---- relief: the I/O loop while the I/O thread runs a handler --------------------------------
  //
  // While the I/O thread runs handlers (run_inline), nobody reads the sockets, sends heartbeats
  // or expires calls. A timerfd (armed at most once per 2 ms, by the batch that finds it idle)
  // wakes the relief thread, which takes over when the current batch has run 2 ms, or at once
  // when a handler starts waiting for a call. The relief thread then hands the
  // rest of the batch to the workers and runs the I/O loop's passes (requests go to the workers)
  // until the I/O thread is back; only one of them runs passes at a time (relief_active_).

  void arm_relief(std::chrono::nanoseconds after) noexcept {
    itimerspec its{};
    its.it_value.tv_sec = static_cast<time_t>(after.count() / 1'000'000'000);
    its.it_value.tv_nsec = static_cast<long>(after.count() % 1'000'000'000);
    ::timerfd_settime(relief_timer_, 0, &its, nullptr);
  }

  /// A handler ran long or waits: inlining stops for a while, the batch's rest goes to the
  /// workers (I/O thread only). 10 ms at first, doubling up to a second while handlers keep being
  /// slow: a quick handler that the kernel preempted looks slow once (common on a busy machine),
  /// and a second of worker hand-offs for it would cost more than the slow handler did.
  void pause_inlining(clock::time_point now) {
    bool const again = now < inline_off_until_ + inline_pause_;  // slow again soon after the last pause
    inline_pause_ = again ? std::min<clock::duration>(inline_pause_ * 2, std::chrono::seconds(1)) : std::chrono::milliseconds(10);
    inline_off_until_ = now + inline_pause_;
    release_inline_rest();
  }

  /// Submits the batch's unclaimed items to the workers (either thread).
  void release_inline_rest() {
    for (int i; (i = inline_claim_.fetch_add(1, std::memory_order_acq_rel)) < inline_n_.load(std::memory_order_acquire);)
      core_.pool().submit(inline_.items[i]);
  }

  void relief_loop() {
    pollfd fds[2] = {{relief_timer_, POLLIN, 0}, {relief_stop_, POLLIN, 0}};
    while (!stopped_.load()) {
      if (::poll(fds, 2, -1) <= 0) continue;
      std::uint64_t v;
      [[maybe_unused]] auto r = ::read(relief_timer_, &v, sizeof v);
      relief_armed_.store(false, std::memory_order_seq_cst);
      // Dekker with run_inline's end: it clears inline_running_ then reads relief_active_.
      relief_active_.store(true, std::memory_order_seq_cst);
      if (inline_running_.load(std::memory_order_seq_cst) && !stopped_.load()) {
        // The timer was armed for an earlier batch: this one may have just started.
        auto const ran = std::chrono::nanoseconds(clock::now().time_since_epoch().count() -
                                                  inline_started_.load(std::memory_order_acquire));
        if (ran < relief_after && !relief_now_.exchange(false)) {
          relief_active_.store(false, std::memory_order_seq_cst);
          relief_armed_.store(true, std::memory_order_seq_cst);
          arm_relief(relief_after - ran);
          continue;
        }
        release_inline_rest();
        flush_answers();  // what the I/O thread collected before the handler that runs long
        lock_io();
        while (inline_running_.load(std::memory_order_seq_cst) && !stopped_.load()) iteration(false);
        unlock_io();
      }
      relief_active_.store(false, std::memory_order_seq_cst);
    }
  }

  /// node_config::io_thread_runs_handlers: runs the activations read_router() made runnable, on
  /// this thread, with the sockets released (so their replies go out at once, and a handler that
  /// waits for a remote reply reads it itself). A raw cppzmq server answers on the thread that
  /// reads; waking a worker instead costs a thread hand-off per request. Guards: a handler about
  /// to wait hands the rest of the batch to the workers (deferred_work), and that or a handler
  /// that ran longer than a millisecond turns inlining off for a while (see pause_inlining).
  void run_inline() {
    struct rest final : detail::deferred_work {
      service& s;
      explicit rest(service& owner) : s(owner) {}
      void release_all() override {  // a handler is about to wait: it may take long
        s.flush_answers();
        s.pause_inlining(clock::now());
        s.relief_now_.store(true);
        s.arm_relief(std::chrono::nanoseconds(1));  // the loop's passes go on meanwhile
      }
    } r{*this};
    detail::scoped_context<detail::deferred_work> deferring(&detail::thread_context::deferred, &r);
    detail::scoped_context<void const> batching(&detail::thread_context::answer_collector, this);
    inline_claim_.store(0, std::memory_order_relaxed);
    inline_n_.store(inline_.n, std::memory_order_release);
    relief_now_.store(false, std::memory_order_relaxed);
    auto const start = clock::now();
    inline_started_.store(start.time_since_epoch().count(), std::memory_order_release);
    inline_running_.store(true, std::memory_order_seq_cst);
    // One timer per 2 ms at most, not one system call per batch: when it fires during a later,
    // younger batch, the relief thread re-arms it for that batch's remaining time.
    if (!relief_armed_.exchange(true, std::memory_order_seq_cst)) arm_relief(relief_after);
    for (int i; (i = inline_claim_.fetch_add(1, std::memory_order_acq_rel)) < inline_.n;) {
      auto* const item = inline_.items[i];
      // An activation runs at most 64 messages per turn, then resubmits itself: keep that turn
      // here (`again` collects it) for up to 500 us, then give the sockets their turn.
      detail::inline_batch again;
      again.only = item;
      for (auto t0 = clock::now();;) {
        again.n = 0;
        {
          detail::scoped_context<detail::inline_batch> collect(&detail::thread_context::inline_target, &again);
          item->run();
        }
        auto const t1 = clock::now();
        bool const slow = t1 - t0 > std::chrono::milliseconds(1);
        bool const stop_here = !again.n || slow || t1 - start > std::chrono::microseconds(500);
        if (again.n && stop_here) core_.pool().submit(item);
        if (slow) pause_inlining(t1);
        if (stop_here) break;
        t0 = t1;
      }
    }
    flush_answers();
    inline_running_.store(false, std::memory_order_seq_cst);
    if (relief_active_.load(std::memory_order_seq_cst)) {
      cmds_.ring();  // its poll(2) includes the doorbell
      while (relief_active_.load(std::memory_order_seq_cst)) std::this_thread::yield();
    }
    inline_.n = 0;
  }

  /// Runs a command.
  void handle(command&& c) {
    switch (c.k) {
      case command::request: return send_request(c.node, c.frame, c.deadline, std::move(c.cb));
      case command::reply: return send_answer(c.routing_id, c.frame);
      case command::announce: return heartbeat_all();
    }
  }

  void send_request(std::string const& node, wire::frame& f, clock::time_point deadline, callback&& cb) {
    peer* p = find_member(node);
    if (!p || !p->dealer) {
      ++send_failures_;
      finish(std::move(cb), wire::error_frame(f.h.request_id, errc::node_unreachable,
                                                "node '" + node + "' is not a reachable member"));
      return;
    }
    std::uint64_t const id = ++next_request_id_;
    f.h.request_id = id;
    bool const expects_reply = f.h.k == wire::kind::call;
    if (!send_parts(*p->dealer, p->armed, f)) {
      finish(std::move(cb), wire::error_frame(id, errc::overloaded, "send queue to node '" + node + "' is full"));
      return;
    }
    if (expects_reply) add_pending(id, pending{node, deadline, std::move(cb)});
  }

  /// The parts of wire::encode_frame without building them: the header (in tx_header_), then the
  /// body as is.
  using frame_views = std::array<std::string_view, 1 + wire::body_parts::capacity>;
  std::span<std::string_view const> views_of(wire::frame const& f, frame_views& parts) {
    wire::encode_header_to(tx_header_, f.h);
    parts[0] = tx_header_;
    for (std::size_t i = 0; i < f.body.size(); ++i) parts[1 + i] = f.body[i];
    return {parts.data(), 1 + f.body.size()};
  }
  static std::uint64_t frame_count(wire::frame const& f) noexcept { return f.h.k == wire::kind::batch ? f.h.frames : 1u; }

  bool send_parts(zmq::socket_t& s, bool& armed, wire::frame const& f, std::string_view const* routing_id = nullptr) {
    frame_views parts;
    return send_views(s, armed, views_of(f, parts), routing_id, frame_count(f));
  }

  /// Sends one message of `parts` (`frames`: the wire frames it carries, for the counters).
  bool send_views(zmq::socket_t& s, bool& armed, std::span<std::string_view const> parts,
                  std::string_view const* routing_id, std::uint64_t frames) {
    armed = false;  // the send may process the socket's commands (see "who may touch the sockets")
    std::size_t const n = parts.size();
    try {
      if (routing_id && !s.send(zmq::buffer(*routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        send_failures_ += frames;
        return false;
      }
      for (std::size_t i = 0; i < n; ++i) {
        auto flags = zmq::send_flags::dontwait;
        if (i + 1 < n) flags = flags | zmq::send_flags::sndmore;
        if (!s.send(zmq::buffer(parts[i]), flags)) {
          send_failures_ += frames;
          return false;
        }
      }
    } catch (zmq::error_t const&) {  // EHOSTUNREACH (router_mandatory): the peer is gone
      send_failures_ += frames;
      return false;
    }
    frames_out_ += frames;
    return true;
  }

  void send_router(std::string_view routing_id, wire::frame const& f) { send_parts(router_, router_armed_, f, &routing_id); }

  /// Sends the answer to a request that came in on the ROUTER from `routing_id`: on our DEALER to
  /// that member (see "which socket carries what"), else back through the ROUTER.
  void send_answer(std::string_view routing_id, wire::frame const& f) {
    frame_views parts;
    send_answer_parts(routing_id, views_of(f, parts), frame_count(f));
  }

  /// send_answer for a message given as its parts (see send_outbox).
  void send_answer_parts(std::string_view routing_id, std::span<std::string_view const> parts, std::uint64_t frames) {
    if (peer* p = member_by_routing_id(routing_id); p && p->dealer) send_views(*p->dealer, p->armed, parts, nullptr, frames);
    else send_views(router_, router_armed_, parts, &routing_id, frames);
  }

  /// A reply or error frame for one of our requests (from either socket). A small one is
  /// stored in its call state right here by the call's callback, decoded from the received frame
  /// (whose buffers the next receive reuses), and the wake-up is left to unlock_io (see
  /// detail::publish_later); a large one is decoded after the sockets are released, as other
  /// callbacks run, so that its decoding does not hold up other threads' sends.
  void on_answer(wire::frame&& f) {
    auto it = pending_.find(f.h.request_id);
    if (it == pending_.end()) return;  // late reply after a timeout: dropped
    auto cb = std::move(it->second.cb);
    recycle(pending_.extract(it));
    std::size_t bytes = 0;
    for (auto const& b : f.body) bytes += b.size();
    if (bytes > decode_under_lock_max) return finish(std::move(cb), std::move(f));
    detail::scoped_context<detail::stored_completion_list> storing(&detail::thread_context::publish_later, &stored_);
    cb(std::move(f));
  }

  /// Records a pending call in a recycled map node when one is spare (no allocation per call).
  void add_pending(std::uint64_t id, pending&& p) {
    if (spare_pending_.empty()) {
      pending_.emplace(id, std::move(p));
      return;
    }
    auto nh = std::move(spare_pending_.back());
    spare_pending_.pop_back();
    nh.key() = id;
    nh.mapped() = std::move(p);
    pending_.insert(std::move(nh));
  }

  void recycle(pending_map::node_type nh) {
    if (spare_pending_.size() >= 1024) return;  // keeps at most 1024 nodes for reuse
    nh.mapped().cb = nullptr;
    spare_pending_.push_back(std::move(nh));
  }

  /// Receives one multipart message into rx_parts_[0, rx_n_): the messages are reused from one
  /// receive to the next (libzmq releases a message's old content when it receives into it), so
  /// a part costs one zmq_msg_recv, not an init, a move and a close besides.
  bool recv_all(zmq::socket_t& s) {
    auto& parts = rx_parts_;
    rx_n_ = 0;
    try {
      for (;;) {
        if (rx_n_ == parts.size()) parts.emplace_back();
        auto& m = parts[rx_n_];
        // Later parts of a multipart message are there once the first is (libzmq delivers it whole).
        if (!s.recv(m, zmq::recv_flags::dontwait)) return rx_n_ > 0;
        ++rx_n_;
        if (!m.more()) return true;
      }
    } catch (zmq::error_t const&) {
      return false;
    }
  }

  /// Decodes rx_parts_[first, rx_n_) into rx_frame_, which keeps the capacity of its strings and
  /// body from one frame to the next unless a consumer moved them away.
  bool decode(std::size_t first) {
    auto& views = rx_views_;
    views.clear();
    for (std::size_t i = first; i < rx_n_; ++i) views.emplace_back(rx_parts_[i].data<char>(), rx_parts_[i].size());
    wire::limits lim;
    lim.max_payload_bytes = core_.config().max_payload_bytes;
    return static_cast<bool>(wire::decode_frame_into(rx_frame_, views, lim));
  }

  int read_router() {
    auto& parts = rx_parts_;
    int n = 0;
    router_armed_ = false;
    for (; n < 1024; ++n) {
      if (!recv_all(router_)) {
        router_armed_ = true;  // drained (or failed: nothing to read either)
        break;
      }
      ++frames_in_;
      if (rx_n_ < 2) {
        ++bad_frames_;
        continue;
      }
      auto& rid = rx_rid_;
      rid.assign(parts[0].data<char>(), parts[0].size());
      if (!bad_by_peer_.empty())
        if (auto it = bad_by_peer_.find(rid); it != bad_by_peer_.end() && it->second > 100) {
          ++bad_frames_;  // a peer that keeps misbehaving is ignored
          continue;
        }
      if (!decode(1)) {
        ++bad_frames_;
        ++bad_by_peer_[rid];
        continue;
      }
      if (rx_frame_.h.k == wire::kind::batch) {
        --frames_in_;  // counted per frame it holds
        if (!on_batch(&rid, nullptr)) ++bad_by_peer_[rid];
        continue;
      }
      on_router_frame(rid, std::move(rx_frame_));
    }
    return n;
  }

  /// Delivers each frame of the batch in rx_frame_ as if it had come alone, from the ROUTER
  /// (`rid`, the sender's routing id) or from our DEALER to `p`, counting them; a frame that does
  /// not decode ends the batch, and it and the frames after it count as bad. False then.
  bool on_batch(std::string const* rid, peer* p) {
    wire::limits lim;
    lim.max_payload_bytes = core_.config().max_payload_bytes;
    std::uint32_t done = 0;
    auto ok = wire::for_each_batched(rx_frame_, rx_inner_, lim, [&](wire::frame& f) {
      ++done;
      ++frames_in_;
      if (rid) on_router_frame(*rid, std::move(f));
      else on_dealer_frame(*p, f);
    });
    if (ok) return true;
    bad_frames_ += rx_frame_.h.frames > done ? rx_frame_.h.frames - done : 1;
    return false;
  }

  int read_dealer(peer& p) {
    int n = 0;
    p.armed = false;
    p.read_now = false;
    for (; n < 1024 && p.dealer; ++n) {
      if (!recv_all(*p.dealer)) {
        p.armed = true;
        break;
      }
      ++frames_in_;
      if (!decode(0)) {
        ++bad_frames_;
        continue;
      }
      if (p.member) p.last_seen = std::max(p.last_seen, detail::coarse_now());
      if (rx_frame_.h.k == wire::kind::batch) {
        --frames_in_;  // counted per frame it holds
        on_batch(nullptr, &p);
      } else {
        on_dealer_frame(p, rx_frame_);
      }
    }
    if (n == 1024) p.read_now = true;  // more may be waiting: its ZMQ_FD will not tell
    return n;
  }

  /// A frame that came in on our DEALER to `p`: answers (to a request we sent before the peer
  /// knew us as a member) and refusals.
  void on_dealer_frame(peer& p, wire::frame& f) {
    switch (f.h.k) {
      case wire::kind::reply:
      case wire::kind::error: on_answer(std::move(f)); break;
      case wire::kind::control:
        if (f.h.control == static_cast<std::uint16_t>(control::refuse)) on_refused(p, f);
        break;
      default: ++bad_frames_; break;
    }
  }

  void on_router_frame(std::string const& rid, wire::frame&& f) {
    // (The coarse clock: last_seen only feeds failure detection, in units of heartbeat intervals.)
    if (peer* p = member_by_routing_id(rid)) p->last_seen = std::max(p->last_seen, detail::coarse_now());
    switch (f.h.k) {
      case wire::kind::call:
      case wire::kind::cast: on_request(rid, std::move(f)); break;
      case wire::kind::reply:
      case wire::kind::error: on_answer(std::move(f)); break;
      case wire::kind::control:
        if (f.h.control == static_cast<std::uint16_t>(control::heartbeat)) on_heartbeat(rid, f);
        else if (f.h.control == static_cast<std::uint16_t>(control::leave)) on_leave(f);
        else ++bad_frames_;
        break;
      default: ++bad_frames_; break;
    }
  }

  void on_request(std::string const& rid, wire::frame&& f) {
    bool const is_call = f.h.k == wire::kind::call;
    auto reject = [&](errc c, std::string text) {
      if (is_call) send_answer(rid, wire::error_frame(f.h.request_id, c, std::move(text)));
    };
    if (f.h.fingerprint != core_.fingerprint())
      return reject(errc::schema_mismatch, "node '" + core_.name() + "' was built from a different schema");
    auto* table = core_.find_table(f.h.actor);
    if (!table) return reject(errc::not_found, "node '" + core_.name() + "' has no actor type '" + f.h.actor + "'");
    auto rt = core_.route_for(table->capability(), f.h.id);
    if (!rt || !rt->local)
      return reject(errc::rebalancing, "node '" + core_.name() + "' no longer owns '" + f.h.id + "' of actor '" + f.h.actor + "'; retry");
    callback respond;
    if (is_call) {
      if (rid.size() < sizeof(std::uint64_t)) {
        // The identities libzmq gives DEALERs are 5 bytes: packed with their length into one
        // word, the responder is trivially copyable and small enough to live inside the
        // std::function (no allocation per request).
        std::uint64_t packed = 0;
        auto const len = static_cast<unsigned char>(rid.size());
        std::memcpy(&packed, &len, 1);
        std::memcpy(reinterpret_cast<char*>(&packed) + 1, rid.data(), rid.size());
        respond = [this, packed](wire::frame&& r) {
          if (stopped_.load()) return;
          auto const* b = reinterpret_cast<char const*>(&packed);
          submit_answer(std::string_view(b + 1, static_cast<unsigned char>(b[0])), std::move(r));
        };
      } else {
        respond = [this, rid](wire::frame&& r) {
          if (stopped_.load()) return;
          submit_answer(rid, std::move(r));
        };
      }
    }
    table->deliver_remote(std::move(f), std::move(respond));
  }

  [[gnu::cold]] member_info self_info() const {
    member_info m;
    m.name = core_.name();
    m.endpoint = endpoint_;
    m.incarnation = incarnation_;
    m.fingerprint = core_.fingerprint();
    auto caps = core_.members().capabilities_of(core_.name());
    m.capabilities.assign(caps.begin(), caps.end());
    return m;
  }

  [[gnu::cold]] void on_heartbeat(std::string const& rid, wire::frame const& f) {
    topology_change tc{topology_gen_};
    auto g = wire::decode<gossip>(f.body[0]);
    if (!g) {
      ++bad_frames_;
      return;
    }
    auto const& m = g->self;
    auto refuse = [&](errc code, std::string reason) {
      ++refused_;
      if (logged_refusals_.insert(m.name + "|" + m.endpoint + "|" + std::to_string(static_cast<int>(code))).second)
        core_.log("refused member '" + m.name + "' at " + m.endpoint + ": " + reason);
      wire::frame r;
      r.h.k = wire::kind::control;
      r.h.control = static_cast<std::uint16_t>(control::refuse);
      r.body.push_back(wire::encode(refusal{self_info(), static_cast<std::uint16_t>(code), reason}));
      send_router(rid, r);
    };
    if (m.name == core_.name()) {
      if (m.incarnation != incarnation_) refuse(errc::already_exists, "node name '" + m.name + "' is already taken by this node");
      return;
    }
    if (m.fingerprint != core_.fingerprint()) {
      refuse(errc::schema_mismatch, "schema fingerprint differs (built from a different schema)");
      mark_incompatible(m);
      return;
    }
    auto now = clock::now();
    if (peer* old = find_member(m.name); old && old->incarnation != m.incarnation) {
      // Two live processes cannot listen on one endpoint: a new incarnation there is a restart.
      // (Replies arriving on our DEALER to that endpoint come from the new process and would
      // otherwise keep the old incarnation "alive" forever.)
      bool const same_endpoint = old->endpoint == m.endpoint;
      if (!same_endpoint && now - old->last_seen < core_.config().failure_timeout / 2 && old->routing_id != rid) {
        refuse(errc::already_exists, "node name '" + m.name + "' is already used by a live member at " + old->endpoint);
        return;
      }
      core_.log("member '" + m.name + "' restarted; replacing its previous incarnation");
      drop_member(*old, errc::node_unreachable, "node '" + m.name + "' restarted");
    }
    peer& p = ensure_peer(m.endpoint);
    bool const joined = !p.member;
    p.name = m.name;
    p.incarnation = m.incarnation;
    p.routing_id = rid;
    p.last_seen = now;
    p.member = true;
    p.incompatible = false;
    core_.members().set_incompatible(m.name, false);  // e.g. rebuilt from our schema and restarted
    by_name_[m.name] = m.endpoint;
    by_routing_id_[rid] = m.name;
    tombstones_.erase(m.name);
    core_.members().set_capabilities(m.name, std::set<std::string>(m.capabilities.begin(), m.capabilities.end()));
    if (joined) {
      core_.log("member '" + m.name + "' joined from " + m.endpoint);
      send_heartbeat(p);  // answer at once so the newcomer learns us (and the members we know)
    }
    for (auto const& k : g->known) {
      if (k.name == core_.name() || k.endpoint == endpoint_) continue;
      if (find_member(k.name) || peers_.count(k.endpoint)) continue;
      if (auto t = tombstones_.find(k.name); t != tombstones_.end() && t->second == k.incarnation) continue;
      send_heartbeat(ensure_peer(k.endpoint));  // learned by gossip: connect directly
    }
  }

  // A node built from another schema stays in the capability table, marked incompatible, so calls
  // that would route to it fail with schema_mismatch. Every member must agree on that table, so
  // incompatible nodes are gossiped too (each member gets its own refusal), and they are probed
  // with heartbeats (each answered by a refusal) and forgotten when silent for failure_timeout.
  [[gnu::cold]] void mark_incompatible(member_info const& m) {
    topology_change tc{topology_gen_};
    if (peer* live = find_member(m.name); live && live->endpoint != m.endpoint && !live->incompatible)
      return;  // a compatible member owns this name: keep routing to it
    peer& p = ensure_peer(m.endpoint);
    p.name = m.name;
    p.incarnation = m.incarnation;
    p.last_seen = clock::now();
    p.incompatible = true;
    core_.members().set_capabilities(m.name, std::set<std::string>(m.capabilities.begin(), m.capabilities.end()));
    core_.members().set_incompatible(m.name, true);
  }

  [[gnu::cold]] void on_refused(peer& p, wire::frame const& f) {
    auto r = wire::decode<refusal>(f.body[0]);
    if (!r) {
      ++bad_frames_;
      return;
    }
    ++refused_;
    if (logged_refusals_.insert("by|" + r->self.name + "|" + std::to_string(r->code)).second)
      core_.log("refused by member '" + r->self.name + "' at " + p.endpoint + ": " + r->reason);
    if (r->code == static_cast<std::uint16_t>(errc::schema_mismatch)) mark_incompatible(r->self);
  }

  [[gnu::cold]] void on_leave(wire::frame const& f) {
    auto m = wire::decode<member_info>(f.body[0]);
    if (!m) {
      ++bad_frames_;
      return;
    }
    if (peer* p = find_member(m->name); p && p->incarnation == m->incarnation) {
      core_.log("member '" + m->name + "' left");
      drop_member(*p, errc::node_unreachable, "node '" + m->name + "' left the cluster");
    }
  }

  /// Bumps topology_gen_ when the function that declares it returns (after its changes).
  struct topology_change {
    std::uint64_t& gen;
    ~topology_change() { ++gen; }
  };

  /// The member whose DEALER has this ROUTER identity, if any. Cached: frames come in runs from
  /// one peer, and the answers go back to it. (topology_gen_ changes with peers_, by_name_ and
  /// by_routing_id_.)
  peer* member_by_routing_id(std::string_view rid) {
    if (rid_cache_.gen == topology_gen_ && rid_cache_.rid == rid) return rid_cache_.p;
    peer* p = nullptr;
    if (auto it = by_routing_id_.find(std::string(rid)); it != by_routing_id_.end()) p = find_member(it->second);
    rid_cache_.rid = rid;
    rid_cache_.gen = topology_gen_;
    rid_cache_.p = p;
    return p;
  }

  /// The member called `name`, if any. Cached like member_by_routing_id: requests come in runs
  /// to one owner.
  peer* find_member(std::string const& name) {
    if (name_cache_.gen == topology_gen_ && name_cache_.name == name) return name_cache_.p;
    peer* found = nullptr;
    if (auto it = by_name_.find(name); it != by_name_.end())
      if (auto p = peers_.find(it->second); p != peers_.end() && p->second.member) found = &p->second;
    name_cache_.name = name;
    name_cache_.gen = topology_gen_;
    name_cache_.p = found;
    return found;
  }

  [[gnu::cold]] peer& ensure_peer(std::string const& endpoint) {
    topology_change tc{topology_gen_};
    auto& p = peers_[endpoint];
    if (!p.dealer) {
      p.endpoint = endpoint;
      p.dealer = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
      p.dealer->set(zmq::sockopt::sndhwm, 100000);
      p.dealer->set(zmq::sockopt::rcvhwm, 100000);
      p.dealer->set(zmq::sockopt::linger, 200);
      p.dealer->set(zmq::sockopt::reconnect_ivl, 100);
      p.dealer->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(core_.config().max_payload_bytes + 64 * 1024));
      p.dealer->connect(endpoint);
      p.dealer_fd = p.dealer->get(zmq::sockopt::fd);
      poll_dirty_ = true;
    }
    return p;
  }

  void contact(std::string const& endpoint) { ensure_peer(endpoint); }

  [[gnu::cold]] void drop_member(peer& p, errc code, std::string const& why) {
    topology_change tc{topology_gen_};
    std::string const name = p.name;
    tombstones_[name] = p.incarnation;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.node == name) {
        auto cb = std::move(it->second.cb);
        auto id = it->first;
        it = pending_.erase(it);
        finish(std::move(cb), wire::error_frame(id, code, why));
      } else {
        ++it;
      }
    }
    by_name_.erase(name);
    by_routing_id_.erase(p.routing_id);
    core_.members().remove(name);
    peers_.erase(p.endpoint);  // closes the DEALER
    poll_dirty_ = true;
  }

  [[gnu::cold]] void send_heartbeat(peer& p) {
    if (!p.dealer) return;  // incompatible peers too: their refusal tells us they are alive
    gossip g;
    g.self = self_info();
    for (auto const& [ep, q] : peers_)
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
    send_parts(*p.dealer, p.armed, f);
  }

  [[gnu::cold]] void heartbeat_all() {
    for (auto& [ep, p] : peers_) send_heartbeat(p);
  }

  [[gnu::cold]] void tick(clock::time_point now) {
    topology_change tc{topology_gen_};
    // Failure detection: members silent for longer than failure_timeout are dead.
    std::vector<peer*> dead;
    for (auto& [ep, p] : peers_)
      if (p.member && now - p.last_seen > core_.config().failure_timeout) dead.push_back(&p);
    for (auto* p : dead) {
      core_.log("member '" + p->name + "' is unreachable (no heartbeat for " +
                std::to_string(core_.config().failure_timeout.count()) + " ms); removing it");
      drop_member(*p, errc::node_unreachable, "node '" + p->name + "' stopped answering");
    }
    // Incompatible nodes that stopped refusing us are gone: take them out of the capability table.
    std::vector<std::string> silent;
    for (auto& [ep, p] : peers_)
      if (p.incompatible && !p.member && now - p.last_seen > core_.config().failure_timeout) silent.push_back(ep);
    for (auto const& ep : silent) {
      auto it = peers_.find(ep);
      std::string const name = it->second.name;
      tombstones_[name] = it->second.incarnation;
      peers_.erase(it);
      poll_dirty_ = true;
      core_.log("incompatible node '" + name + "' at " + ep + " is gone; removing it");
      if (!find_member(name)) core_.members().remove(name);
    }
    // Seeds we lost are contacted again, so a restarted seed is rejoined.
    for (auto const& s : core_.config().seeds)
      if (s != endpoint_ && !peers_.count(s)) contact(s);
    heartbeat_all();
    rebalance();
  }

  [[gnu::cold]] void rebalance() {
    // On a topology change, deactivate activations whose shard moved to another node. Busy
    // activations cannot be retired at once, so the pass repeats for a few ticks.
    auto const v = core_.members().version();
    if (v != rebalanced_version_) {
      rebalanced_version_ = v;
      rebalance_passes_left_ = 5;
    }
    if (rebalance_passes_left_ == 0) return;
    --rebalance_passes_left_;
    core_.for_each_table([&](detail::table_base& t) {
      if (t.size() == 0) return;
      t.deactivate_where([&](std::string_view id) {
        auto rt = core_.route_for(t.capability(), id);
        return !rt || !rt->local;
      });
    });
  }

  void expire_pending(clock::time_point now) {
    if (pending_.empty() || now < next_expiry_scan_) return;
    next_expiry_scan_ = now + std::chrono::milliseconds(10);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline < now) {
        auto cb = std::move(it->second.cb);
        auto id = it->first;
        it = pending_.erase(it);
        finish(std::move(cb), wire::error_frame(id, errc::timeout, "no reply before the deadline"));
      } else {
        ++it;
      }
    }
  }

  [[gnu::cold]] void leave() {
    topology_change tc{topology_gen_};
    wire::frame f;
    f.h.k = wire::kind::control;
    f.h.control = static_cast<std::uint16_t>(control::leave);
    f.body.push_back(wire::encode(self_info()));
    for (auto& [ep, p] : peers_)
      if (p.dealer && p.member) send_parts(*p.dealer, p.armed, f);
    for (auto& [id, p] : pending_) finish(std::move(p.cb), wire::error_frame(id, errc::shutting_down, "node is leaving the cluster"));
    pending_.clear();
    // Commands that raced the stop: fail requests so no caller waits for its deadline. Senders
    // that get the lock from now on see io_closed_ and queue; the destructor's drain fails those.
    io_closed_.store(true);
    cmds_.drain([&](command&& c) {
      if (c.k == command::request && c.cb) finish(std::move(c.cb), wire::error_frame(0, errc::shutting_down, "node is leaving the cluster"));
    });
    peers_.clear();
    poll_dirty_ = true;
    router_.close();
  }

  detail::node_core& core_;
  zmq::context_t ctx_;
  zmq::socket_t router_;
  std::string endpoint_;
  std::uint64_t incarnation_ = 0;
  transport::mpsc_queue<command> cmds_;
  int router_fd_ = -1;
  std::mutex io_m_;  // owns every socket and the I/O state below (see "who may touch the sockets")
  std::atomic<std::thread::id> io_owner_{};
  std::thread thread_;
  std::atomic<bool> stopped_{false};

  // I/O thread only:
  std::map<std::string, peer> peers_;                        // by endpoint
  std::map<std::string, std::string> by_name_;               // name -> endpoint
  std::map<std::string, std::string> by_routing_id_;         // ROUTER identity -> name
  std::uint64_t topology_gen_ = 0;  // bumped by every change to peers_, by_name_, by_routing_id_
  struct {
    std::string rid;
    std::uint64_t gen = ~std::uint64_t{0};
    peer* p = nullptr;
  } rid_cache_;  // see member_by_routing_id
  struct {
    std::string name;
    std::uint64_t gen = ~std::uint64_t{0};
    peer* p = nullptr;
  } name_cache_;  // see find_member
  std::map<std::string, std::uint64_t> tombstones_;          // dead name -> incarnation
  std::unordered_map<std::string, std::uint64_t> bad_by_peer_;
  std::set<std::string> logged_refusals_;
  pending_map pending_;
  std::vector<pending_map::node_type> spare_pending_;  // see add_pending
  std::uint64_t next_request_id_ = 0;
  std::uint64_t rebalanced_version_ = 0;
  int rebalance_passes_left_ = 0;
  clock::time_point next_expiry_scan_{};
  std::vector<pollfd> poll_fds_;  // ROUTER, doorbell, then one DEALER per poll_peers_
  bool router_armed_ = false;     // see "who may touch the sockets"
  std::vector<peer*> poll_peers_;
  bool poll_dirty_ = true;
  std::vector<zmq::message_t> rx_parts_;  // see recv_all
  std::size_t rx_n_ = 0;
  std::vector<std::string_view> rx_views_;
  std::string rx_rid_;
  wire::frame rx_frame_;
  wire::frame rx_inner_;  // a frame of a batch in rx_frame_
  std::mutex outbox_m_;                // guards the three below (see "answers collected into batches")
  std::vector<answer_batch> outbox_;
  std::size_t outbox_n_ = 0;
  clock::time_point outbox_since_{};
  std::string tx_header_;
  std::vector<completion> completions_;   // run by unlock_io()
  detail::stored_completion_list stored_;  // replies stored under the lock, published by unlock_io()
  static constexpr std::size_t decode_under_lock_max = 16 * 1024;  // reply bytes (see on_answer)
  std::atomic<bool> io_closed_{false};   // leave() closed the sockets
  std::atomic<int> watchers_{0};            // callers in wait_reading (see watching)
  detail::inline_batch inline_;          // see run_inline (items: I/O thread; claims: atomic)
  std::atomic<int> inline_claim_{0};      // next item of inline_ to run or hand over
  std::atomic<int> inline_n_{0};          // inline_.n, published for the relief thread
  clock::time_point inline_off_until_{};  // inlining is off until then (a slow handler ran inline)
  clock::duration inline_pause_{};        // length of the last pause (see pause_inlining)
  clock::time_point next_tick_{};         // next heartbeat tick (whoever runs the loop's passes)
  std::thread relief_thread_;             // see "relief"; only with io_thread_runs_handlers
  int relief_timer_ = -1, relief_stop_ = -1;
  std::atomic<bool> inline_running_{false}, relief_active_{false};
  std::atomic<bool> relief_armed_{false}, relief_now_{false};  // timer pending; take over at once
  std::atomic<clock::rep> inline_started_{0};                  // the current batch's start
  static constexpr std::chrono::nanoseconds relief_after = std::chrono::milliseconds(2);

  std::atomic<std::uint64_t> frames_in_{0}, frames_out_{0}, bad_frames_{0}, send_failures_{0}, refused_{0};
};

}  // namespace mesh::cluster
