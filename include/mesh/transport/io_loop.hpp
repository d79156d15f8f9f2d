#pragma once
/// transport::io_loop: the thread that drives a node's sockets (transport::endpoint), the I/O
/// lock that lets other threads use them directly, the command queue for when they cannot, and
/// handlers run inline on the I/O thread (inline_runner.hpp). It knows frames, not members or
/// actors: what frames mean is the io_handler's business (cluster::service).
///
/// Who may touch the sockets. Every socket and all I/O state belong to whoever holds the I/O
/// lock: usually the I/O thread, which releases it only while it sleeps in poll(2) on the
/// sockets' ZMQ_FDs and the command doorbell. A thread that sends (a caller's request, a worker's
/// answer) takes it with try_lock and sends itself, saving two thread hand-offs per round trip;
/// when the lock is busy the command goes through the queue. Nothing that wakes a thread or runs
/// user code happens under the lock: a small reply is stored in its call state there and the
/// state published, like every other completion, by the thread that releases it (unlock).
///
/// ZMQ_FD is edge-like: any libzmq call on a socket may consume the signal of a message that just
/// arrived. A socket is "armed" when the last libzmq call on it was a receive that found nothing
/// (EAGAIN) or a ZMQ_EVENTS without POLLIN: every command it got has been processed, so its ZMQ_FD
/// becomes readable when a message arrives. A send disarms it. Each pass of the loop sends the
/// queued commands first, then reads the ROUTER when it is disarmed or poll(2) reported it
/// readable, and a DEALER when poll(2) reported it readable (or at a tick when it is disarmed),
/// until EAGAIN (armed again). Before it sleeps it checks ZMQ_EVENTS on a still disarmed ROUTER. A
/// thread that sent directly does the same when the I/O thread sleeps, and rings the doorbell
/// when a message is waiting that the sleeping I/O thread could no longer see. Idle sockets and
/// sends cost no libzmq call, only their place in the one poll(2) per pass. The price: a message
/// on a DEALER whose signal a send ate waits for the next tick.

#include <mesh/core/clock.hpp>
#include <mesh/core/thread_context.hpp>
#include <mesh/transport/answer_batcher.hpp>
#include <mesh/transport/endpoint.hpp>
#include <mesh/transport/mpsc_queue.hpp>
#include <mesh/wire/error_frame.hpp>
#include <mesh/wire/frame_callback.hpp>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mesh::transport {

/// The longest the I/O thread sleeps between passes when no tick is due sooner.
inline constexpr std::chrono::milliseconds max_sleep{20};
/// The longest it sleeps without watching the ROUTER while callers watch it for their replies:
/// the longest a request can wait unread after the last caller stopped watching.
inline constexpr std::chrono::milliseconds max_sleep_unwatched{1};

/// Work for the sockets queued by a thread that could not take the I/O lock.
struct command {
  enum kind_t : std::uint8_t {
    request,  ///< `frame` to member `target`; `cb` gets its answer (io_handler::send_request)
    answer,   ///< `frame` answers a request from routing id `target`
    control,  ///< the handler's own (io_handler::on_control)
  } k;
  std::string target;
  wire::frame frame;
  mesh::detail::clock::time_point deadline;
  mesh::detail::frame_callback cb;
};

/// What an io_loop calls back into, with the I/O lock held (the cluster service).
class io_handler {
 public:
  /// A request command: send `f` to member `target`, `cb` gets its answer.
  virtual void send_request(std::string const& target, wire::frame& f, mesh::detail::clock::time_point deadline,
                            mesh::detail::frame_callback&& cb) = 0;
  virtual void on_control() = 0;
  /// A frame from the ROUTER (`rid`: the sender's DEALER identity) or from our DEALER `d`.
  virtual void on_router_frame(std::string const& rid, wire::frame&& f) = 0;
  virtual void on_dealer_frame(dealer& d, wire::frame& f) = 0;
  /// A call from `rid` whose header decoded but whose body did not (`why`: too_large, bad_message).
  virtual void on_bad_call(std::string const& rid, wire::header const& h, error const& why) = 0;
  /// A message arrived on DEALER `d` (its peer is alive).
  virtual void on_dealer_message(dealer& d) = 0;
  /// The DEALER to answer a request from `rid` on (the requester is a member), or null: through
  /// the ROUTER. Answers go back DEALER -> ROUTER, so the ROUTER receives nearly everything and is
  /// rarely sent on.
  virtual dealer* answer_route(std::string_view rid) = 0;
  /// Timers: every pass (`tick`: the heartbeat tick is due).
  virtual void on_timers(mesh::detail::clock::time_point now, bool tick) = 0;
  /// The loop ends: last sends before the sockets close.
  virtual void on_close() = 0;
  /// A runnable the I/O thread collected but will not run itself.
  virtual void hand_to_workers(mesh::detail::runnable* r) = 0;

 protected:
  ~io_handler() = default;
};

/// Handlers run on the I/O thread (inline_runner.hpp): what a pass asks of them.
class inline_hooks {
 public:
  /// Where the pass's reads collect runnables now, or null (inlining paused or unavailable).
  virtual mesh::detail::inline_batch* target(mesh::detail::clock::time_point now) noexcept = 0;
  virtual bool has_work() const noexcept = 0;
  /// Runs the collected runnables (sockets released).
  virtual void run() = 0;

 protected:
  ~inline_hooks() = default;
};

class inline_runner;

class io_loop {
  using clock = mesh::detail::clock;

 public:
  io_loop(io_handler& h, std::string const& listen, std::size_t max_payload_bytes, security sec, clock::duration tick,
          endpoint_limits lim = {})
      : h_(h), ep_(listen, max_payload_bytes, std::move(sec), lim), tick_(tick) {}
  io_loop(io_loop const&) = delete;
  io_loop& operator=(io_loop const&) = delete;
  ~io_loop() { stop(); }

  /// Starts the I/O thread (once the handler is ready for calls).
  void start(inline_hooks* inliner) {
    inliner_ = inliner;
    thread_ = std::thread([this] { loop(); });
  }

  /// Ends the loop: the handler's on_close runs on the I/O thread, which is joined.
  [[gnu::cold]] void stop() {
    if (stopped_.exchange(true)) return;
    cmds_.ring();
    if (thread_.joinable()) thread_.join();
  }
  bool stopped() const noexcept { return stopped_.load(); }

  /// Freezes the loop (tests: a process pause). The thread in the loop keeps the I/O lock and
  /// sleeps: no frame goes in or out and no timer runs until pause(false), as under SIGSTOP.
  void pause(bool on) noexcept { paused_.store(on, std::memory_order_relaxed); }

  endpoint& sockets() noexcept { return ep_; }
  endpoint const& sockets() const noexcept { return ep_; }

  /// Queues a command (the I/O lock was busy).
  void push(command&& c) { cmds_.push(std::move(c)); }
  /// Wakes the I/O thread for a control command.
  void push_control() { cmds_.push(command{command::control, {}, {}, {}, {}}); }

  /// The poll set changes: DEALERs to read.
  void watch(dealer* d) {
    dealers_.push_back(d);
    poll_dirty_ = true;
  }
  void unwatch(dealer* d) {
    std::erase(dealers_, d);
    poll_dirty_ = true;
  }

  /// Completes a request after the I/O lock is released (holding it).
  void finish(mesh::detail::frame_callback&& cb, wire::frame&& f) { completions_.push_back(completion{std::move(cb), std::move(f)}); }
  /// Replies stored in their call states under the lock, published by unlock().
  mesh::detail::stored_completion_list& stored() noexcept { return stored_; }

  /// Runs `work()` on this thread under the I/O lock when nobody holds it (the I/O thread sleeps),
  /// after the commands queued before it (per-sender order), or `closed()` once the sockets are
  /// closed. False when the lock was busy (neither ran).
  template <class Work, class Closed>
  bool run_if_free(Work&& work, Closed&& closed) {
    if (holds_lock() || !m_.try_lock()) return false;
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    if (closed_.load(std::memory_order_relaxed)) {
      closed();
    } else {
      drain_commands();
      work();
      // Our libzmq calls may have eaten the ZMQ_FD signal of a message the I/O thread sleeps on.
      // (It announces its sleep under the lock; if it has not, it reads the disarmed ROUTER first.)
      if (cmds_.consumer_sleeping() && messages_waiting()) cmds_.ring();
    }
    unlock();
    return true;
  }

  /// Sends an answer to a request from `rid`, from any thread: batched when this thread runs
  /// handlers inline for this loop, else at once when the lock is free, else queued (dropped
  /// once the sockets are closed: its requester hears nothing more from us either way).
  void submit_answer(std::string_view rid, wire::frame&& f) {
    if (mesh::detail::this_thread_context().answer_collector == this) return collect_answer(rid, std::move(f));
    bool const sent = run_if_free([&] { send_answer(rid, f); }, [] {});
    if (!sent) cmds_.push(command{command::answer, std::string(rid), std::move(f), {}, {}});
  }

  /// Sends the answers collected so far (the collecting thread, or the relief thread).
  void flush_answers() {
    std::vector<answer_batcher::batch> out;
    batcher_.take(out);
    if (out.empty()) return;
    if (!run_if_free([&] { send_batches(out); }, [] {})) queue_batches(out);
    batcher_.give_back(out);
  }

  /// The answer every request gets once the loop has stopped (the node is leaving).
  [[gnu::cold]] static wire::frame leaving_error() {
    return wire::error_frame(0, errc::shutting_down, leaving_text);
  }
  static constexpr char const* leaving_text = "node is leaving the cluster";

  /// Callers waiting for replies that watch the ROUTER themselves (see reply_reader).
  void watching(bool on) noexcept {
    if (on) watchers_.fetch_add(1, std::memory_order_relaxed);
    else watchers_.fetch_sub(1, std::memory_order_relaxed);
  }

  // ---- used by the I/O thread and the relief thread (inline_runner) ---------------------------

  bool holds_lock() const noexcept { return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }
  void lock() {
    m_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }

  /// Releases the I/O lock, then publishes the replies stored meanwhile and runs the callbacks
  /// completed meanwhile.
  void unlock() {
    // Both lists go to per-thread vectors whose (empty) storage the members take over, so
    // neither allocates again once grown. A callback that completes more (nested unlock on this
    // thread, maybe of another node) uses local vectors.
    struct spare {
      std::vector<completion> v;
      mesh::detail::stored_completion_list s;
      bool busy = false;
    };
    thread_local spare tl;
    std::vector<completion> local;
    mesh::detail::stored_completion_list local_stored;
    bool const own = !tl.busy;
    auto& done = own ? tl.v : local;
    auto& stored = own ? tl.s : local_stored;
    done.swap(completions_);
    stored.swap(stored_);
    owner_.store(std::thread::id{}, std::memory_order_relaxed);
    m_.unlock();
    if (done.empty() && stored.empty()) return;
    struct release {
      std::vector<completion>& done;
      mesh::detail::stored_completion_list& stored;
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

  /// One pass of the loop: sends, reads, timers, then one poll(2) (a sleep when nothing is left).
  /// Called with the I/O lock held; returns with it held. `may_inline`: the I/O thread's own
  /// passes (see inline_runner); the relief thread's are not.
  void pass(bool may_inline);  // defined below the class

 private:
  friend class inline_runner;

  struct completion {
    mesh::detail::frame_callback cb;
    wire::frame f;
  };

  void loop() {
    next_tick_ = clock::now();
    lock();
    while (!stopped_.load()) pass(true);
    drain_commands();  // sent before the leave, as queued
    h_.on_close();
    // Commands that raced the stop: fail requests so no caller waits for its deadline. Senders
    // that get the lock from now on see closed_ and queue; the destructor's drain fails those.
    closed_.store(true);
    cmds_.drain([&](command&& c) {
      if (c.k == command::request && c.cb) finish(std::move(c.cb), leaving_error());
    });
    dealers_.clear();
    poll_dirty_ = true;
    ep_.close();
    unlock();
  }


  void drain_commands() {
    cmds_.drain([&](command&& c) {
      switch (c.k) {
        case command::request: return h_.send_request(c.target, c.frame, c.deadline, std::move(c.cb));
        case command::answer: return send_answer(c.target, c.frame);
        case command::control: return h_.on_control();
      }
    });
  }

  /// On our DEALER to the requester when it is a member, else back through the ROUTER.
  void send_answer(std::string_view rid, wire::frame const& f) {
    endpoint::frame_views parts;
    ep_.send_parts(h_.answer_route(rid), rid, ep_.views_of(f, parts), endpoint::frame_count(f));
  }

  void collect_answer(std::string_view rid, wire::frame&& f) {
    if (!answer_batcher::fits(f)) return send_alone(rid, std::move(f));
    if (batcher_.add(rid, f)) flush_answers();
  }

  /// A large answer goes alone, after those collected before it.
  [[gnu::cold]] void send_alone(std::string_view rid, wire::frame&& f) {
    flush_answers();
    bool const sent = run_if_free([&] { send_answer(rid, f); }, [] {});
    if (!sent) cmds_.push(command{command::answer, std::string(rid), std::move(f), {}, {}});
  }

  /// Under the I/O lock: the collected answers, a batch per requester (a lone one as itself).
  void send_batches(std::vector<answer_batcher::batch>& out) {
    for (auto& e : out) {
      if (!e.n) continue;
      std::string_view parts[1 + wire::body_parts::capacity];
      std::size_t const count = answer_batcher::parts_of(e, tx_batch_header_, parts);
      ep_.send_parts(h_.answer_route(e.rid), e.rid, std::span<std::string_view const>(parts, count), e.n);
      e.n = 0;
    }
  }

  /// The sockets are busy (a caller or the relief thread): the batches are queued, in order.
  [[gnu::cold]] void queue_batches(std::vector<answer_batcher::batch>& out) {
    for (auto& e : out)
      if (e.n) cmds_.push(command{command::answer, e.rid, answer_batcher::as_frame(e), {}, {}});
  }

  /// Rebuilds the poll set (ROUTER, command doorbell, one DEALER each) after DEALERs changed.
  [[gnu::cold]] void rebuild_poll_set() {
    // The last poll's results do not carry over: read every socket once.
    ep_.disarm_router();
    for (auto* d : dealers_) d->read_now = true;
    poll_fds_.clear();
    poll_fds_.push_back({ep_.router_fd(), POLLIN, 0});
    poll_fds_.push_back({cmds_.fd(), POLLIN, 0});
    for (auto* d : dealers_) poll_fds_.push_back({d->fd, POLLIN, 0});
    poll_dealers_ = dealers_;
    poll_dirty_ = false;
  }

  /// True when the ROUTER is disarmed and holds a message, or a DEALER has more to read now. Also
  /// true while the poll set is stale (a read dropped or replaced a DEALER: poll_dealers_ may
  /// point at freed ones), so that the I/O thread wakes and rebuilds it.
  bool messages_waiting() {
    if (poll_dirty_) return true;
    if (ep_.router_has_message()) return true;
    for (auto* d : poll_dealers_)
      if (d->read_now) return true;
    return false;
  }

  io_handler& h_;
  endpoint ep_;
  clock::duration tick_;
  inline_hooks* inliner_ = nullptr;
  mpsc_queue<command> cmds_;
  std::mutex m_;  // the I/O lock: owns ep_ and the state below (see "who may touch the sockets")
  std::atomic<std::thread::id> owner_{};
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> closed_{false};   // the sockets are closed
  std::atomic<int> watchers_{0};      // callers in wait_reading (see watching)
  std::vector<completion> completions_;    // run by unlock()
  mesh::detail::stored_completion_list stored_;  // replies stored under the lock, published by unlock()
  answer_batcher batcher_;
  std::string tx_batch_header_;
  std::vector<dealer*> dealers_;           // what the handler watches
  std::vector<pollfd> poll_fds_;           // ROUTER, doorbell, then one per poll_dealers_
  std::vector<dealer*> poll_dealers_;
  bool poll_dirty_ = true;
  clock::time_point next_tick_{};          // next heartbeat tick (whoever runs the passes)
  std::atomic<bool> paused_{false};        // pause(): tests only
};

}  // namespace mesh::transport

namespace mesh::transport {

inline void io_loop::pass(bool may_inline) {
  while (paused_.load(std::memory_order_relaxed) && !stopped_.load()) [[unlikely]]
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (poll_dirty_) rebuild_poll_set();
  bool const tick_due = clock::now() >= next_tick_;
  // Queued sends first: the reads below then leave the ROUTER armed.
  drain_commands();
  if (!ep_.router_armed() || (poll_fds_[0].revents & (POLLIN | POLLERR))) {
    // Activations the requests make runnable are collected, not queued (see inline_runner).
    mesh::detail::scoped_context<mesh::detail::inline_batch> collect(&mesh::detail::thread_context::inline_target,
                                                         may_inline && inliner_ ? inliner_->target(clock::now()) : nullptr);
    ep_.read_router([this](std::string const& rid, wire::frame&& f) { h_.on_router_frame(rid, std::move(f)); },
                    [this](std::string const& rid, wire::header const& h, error const& why) { h_.on_bad_call(rid, h, why); });
  }
  // Reads may drop or replace DEALERs: the poll set's entries are stale until the rebuild.
  for (std::size_t i = 0; i < poll_dealers_.size() && !poll_dirty_; ++i) {
    dealer& d = *poll_dealers_[i];
    if (d.read_now || (poll_fds_[2 + i].revents & (POLLIN | POLLERR)) || (tick_due && !d.armed))
      ep_.read_dealer(d, [&](wire::frame& f) { h_.on_dealer_frame(d, f); }, [&] { h_.on_dealer_message(d); });
  }
  if (may_inline && inliner_ && inliner_->has_work()) {
    unlock();
    inliner_->run();
    lock();
  }
  auto now = clock::now();
  h_.on_timers(now, tick_due);
  if (tick_due) {
    ep_.prune(now);
    next_tick_ = now + tick_;
    now = clock::now();
  }
  if (poll_dirty_) rebuild_poll_set();
  // Sleep only when nothing is left: every socket armed (read until EAGAIN, or checked) and
  // without a message, no command queued. Whatever arrives from now on wakes the poll(2).
  auto const wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick_ - now);
  auto const timeout = std::max(std::chrono::milliseconds(0), std::min(wait, max_sleep));
  bool const sleeping = timeout.count() > 0 && !messages_waiting() && cmds_.prepare_sleep();
  // While callers wait in call_state::wait_reading they watch the ROUTER (and read it): we leave
  // it out (poll(2) ignores a negative fd), so that a reply wakes one thread, not two competing
  // for the cores. Their waits end without telling us, so such a sleep is short.
  bool const skip_router = sleeping && watchers_.load(std::memory_order_relaxed) > 0;
  poll_fds_[0].fd = skip_router ? -1 : ep_.router_fd();
  auto const sleep_ms = skip_router ? std::min(timeout, max_sleep_unwatched) : timeout;
  unlock();
  // One poll(2) per pass, also when not sleeping (timeout 0): it tells which armed sockets
  // received something, which is cheaper than asking each of them.
  int const rc = ::poll(poll_fds_.data(), static_cast<nfds_t>(poll_fds_.size()), sleeping ? static_cast<int>(sleep_ms.count()) : 0);
  if (sleeping) cmds_.end_sleep();
  if (skip_router) {
    poll_fds_[0].fd = ep_.router_fd();
    poll_fds_[0].revents = 0;
  }
  if (rc > 0 && (poll_fds_[1].revents & POLLIN)) cmds_.clear_doorbell();
  if (rc <= 0)
    for (auto& pf : poll_fds_) pf.revents = 0;
  lock();
}

}  // namespace mesh::transport
