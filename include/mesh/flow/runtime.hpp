#pragma once
/// The local flow runtime: nodes with bounded input queues, links, parking on a full
/// downstream queue, and the engine (registry + scheduler) a local network owns.
/// See docs/flow.md ("Scheduling", "Backpressure").

#include <mesh/core/error.hpp>
#include <mesh/core/log.hpp>
#include <mesh/flow/bounded_queue.hpp>
#include <mesh/flow/emitter.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/flow/node_id.hpp>
#include <mesh/flow/node_info.hpp>
#include <mesh/flow/scheduler.hpp>
#include <mesh/flow/summary.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mesh::flow::detail {

using clock = std::chrono::steady_clock;

/// Identity of a C++ type at run time (address of a per-type variable).
using type_key = void const*;
template <class T>
inline constexpr char type_key_v = 0;
template <class T>
constexpr type_key key_of() noexcept {
  return &type_key_v<T>;
}

template <class T>
std::string type_name_of() {
  if constexpr (std::is_void_v<T>) return "void";
  else if constexpr (std::is_same_v<T, std::string>) return "std::string";
  else return std::string(wire::type_name<T>());
}

/// Intrusive reference to a node (the scheduler holds the same count).
template <class T>
class ref {
 public:
  ref() = default;
  explicit ref(T* p) noexcept : p_(p) {
    if (p_) p_->retain();
  }
  /// A reference to an object known to exist.
  static ref from(T& obj) noexcept {
    obj.retain();
    ref r;
    r.p_ = &obj;
    return r;
  }
  ref(ref const& o) noexcept : ref(o.p_) {}
  ref(ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  ref(ref<U> const& o) noexcept : ref(o.get()) {}
  ref& operator=(ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~ref() {
    if (p_) p_->release();
  }
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// Gives up ownership without releasing (the count moves to whoever takes the pointer).
  T* detach() noexcept { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};

enum class push_status { ok, full, closed };

class local_engine;

/// What every local node has, whatever its logic.
class node_base : public task {
 public:
  node_base(local_engine& e, node_id id) : engine_(e), id_(std::move(id)) {}
  node_base(node_base const&) = delete;
  node_base& operator=(node_base const&) = delete;
  virtual ~node_base() = default;

  void retain() noexcept override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  node_id const& id() const noexcept { return id_; }
  local_engine& engine() const noexcept { return engine_; }

  // ---- described by the typed node -----------------------------------------------------------
  virtual type_key input_type() const noexcept = 0;
  virtual type_key output_type() const noexcept = 0;
  virtual type_key logic_type() const noexcept = 0;
  virtual std::string input_name() const = 0;
  virtual std::string output_name() const = 0;
  virtual std::string logic_name() const = 0;
  virtual std::string const& options_summary() const noexcept = 0;
  /// `static_cast<sink<input>*>(this)` as void* (the target side of a direct link).
  virtual void* input_sink() noexcept = 0;
  /// Adds an outgoing link whose sink (`sink<output>*` as void*) feeds `target`; `keep` owns a
  /// converting sink when there is one.
  virtual void add_link(ref<node_base> target, void* sink, std::shared_ptr<void> keep) = 0;
  /// Removes the outgoing link to `target`.
  virtual void remove_link(node_base const* target) = 0;
  virtual std::uint64_t pushed() const noexcept = 0;
  virtual std::uint64_t popped() const noexcept = 0;
  virtual std::size_t queue_capacity() const noexcept = 0;
  /// Breaks reference cycles (links, held items, parked producers) when the network ends.
  virtual void clear_references() = 0;

  // ---- state shared with the engine -----------------------------------------------------------
  /// Outgoing link ids in connect order, incoming ones; guarded by the engine's topology lock.
  std::vector<node_id> out_ids, in_ids;

  bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }
  /// Idle: not scheduled, not running, not parked, nothing queued.
  bool idle() const noexcept { return !claimed_.load(std::memory_order_acquire) && pushed() == popped(); }

  /// Marks the node stopped: later pushes are refused (closed), queued items are discarded by
  /// its next turn, parked producers and external senders are woken so they see it closed.
  void stop();

  /// Fills the counters and names of an info snapshot.
  mesh::flow::node_info info() const {
    mesh::flow::node_info i;
    i.id = id_;
    i.logic = logic_name();
    i.options = options_summary();
    i.input_type = input_name();
    i.output_type = output_name();
    i.links = out_ids;
    i.processed = processed_.load(std::memory_order_relaxed);
    i.errors = errors_.load(std::memory_order_relaxed);
    i.dropped = dropped_.load(std::memory_order_relaxed);
    i.undeliverable = undeliverable_.load(std::memory_order_relaxed);
    auto const t = pushed(), h = popped();
    i.queued = t > h ? t - h : 0;
    i.capacity = queue_capacity();
    std::lock_guard lk(error_mu_);
    i.last_error = last_error_;
    return i;
  }

  void count_dropped(std::uint64_t n = 1) noexcept { dropped_.fetch_add(n, std::memory_order_relaxed); }
  void count_undeliverable() noexcept { undeliverable_.fetch_add(1, std::memory_order_relaxed); }

  /// Registers `w` to be rescheduled when this node frees queue space.
  void add_waiter(node_base& w) {
    std::lock_guard lk(waiters_mu_);
    waiters_.emplace_back(&w);
    has_waiters_.store(true, std::memory_order_seq_cst);
  }

 protected:
  friend class local_engine;

  /// Schedules this node unless it is already scheduled, running or parked.
  void schedule();
  /// Keeps the claim and queues the node again (its batch budget ran out).
  void resubmit();
  /// Gives up the claim; takes it back at once when items arrived meanwhile.
  void release_claim() {
    claimed_.store(false, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (pushed() != popped() && !claimed_.exchange(true, std::memory_order_acq_rel)) resubmit();
  }
  /// After popping items: wakes external senders and parked producers waiting for room.
  void notify_space() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ext_waiters_.load(std::memory_order_relaxed) > 0) {
      std::lock_guard lk(ext_mu_);
      ext_cv_.notify_all();
    }
    wake_waiters();
  }
  void wake_waiters();

  /// Counts and logs an exception thrown by process().
  void on_error(char const* what);

  local_engine& engine_;
  node_id id_;
  std::atomic<int> refs_{0};
  std::atomic<bool> claimed_{false};  // scheduled, running or parked
  std::atomic<std::uint64_t> parked_{0};  // park token while waiting for room downstream (claim kept)
  std::atomic<bool> stopped_{false};
  alignas(cache_line) std::atomic<std::uint64_t> processed_{0};
  std::atomic<std::uint64_t> errors_{0}, dropped_{0}, undeliverable_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
  /// Held while process() or retrieve() runs: one item at a time, retrieve sees a stable state.
  std::mutex state_mu_;

  std::mutex waiters_mu_;
  std::vector<ref<node_base>> waiters_;
  std::atomic<bool> has_waiters_{false};

  std::mutex ext_mu_;
  std::condition_variable ext_cv_;
  std::atomic<int> ext_waiters_{0};
};

/// Where items of type T can be pushed: a node's input queue, or a converting adaptor.
template <class T>
struct sink {
  /// Moves v in on success; leaves it untouched when full or closed.
  virtual push_status try_push(T& v) = 0;
  virtual bool has_space() const noexcept = 0;

 protected:
  ~sink() = default;
};

/// A node whose input is T.
template <class T>
class inbox : public node_base, public sink<T> {
 public:
  inbox(local_engine& e, node_id id, std::size_t capacity) : node_base(e, std::move(id)), q_(capacity) {}

  push_status try_push(T& v) override {
    if (stopped_.load(std::memory_order_acquire)) return push_status::closed;
    if (!q_.try_push(v)) return push_status::full;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!claimed_.load(std::memory_order_relaxed)) schedule();
    return push_status::ok;
  }
  bool has_space() const noexcept override { return stopped() || q_.has_space(); }

  /// Pushes from a thread outside the network's workers: waits for room until `deadline`.
  push_status push_wait(T& v, clock::time_point deadline) {
    for (int spin = 0; spin < 64; ++spin) {
      auto const st = try_push(v);
      if (st != push_status::full) return st;
      std::this_thread::yield();
    }
    std::unique_lock lk(ext_mu_);
    ext_waiters_.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    push_status st;
    while ((st = try_push(v)) == push_status::full) {
      auto const now = clock::now();
      if (now >= deadline) break;
      ext_cv_.wait_until(lk, std::min(deadline, now + std::chrono::milliseconds(2)));
    }
    ext_waiters_.fetch_sub(1, std::memory_order_relaxed);
    return st;
  }

  void* input_sink() noexcept override { return static_cast<sink<T>*>(this); }
  std::uint64_t pushed() const noexcept override { return q_.pushed(); }
  std::uint64_t popped() const noexcept override { return q_.popped(); }
  std::size_t queue_capacity() const noexcept override { return q_.capacity(); }

 protected:
  bounded_queue<T> q_;
};

/// A link whose target's input is U, fed with T (compile-time graphs: output convertible to input).
template <class T, class U>
struct converting_sink final : sink<T> {
  explicit converting_sink(inbox<U>* d) noexcept : dst(d) {}
  push_status try_push(T& v) override {
    U u = static_cast<U>(std::as_const(v));
    return dst->try_push(u);
  }
  bool has_space() const noexcept override { return dst->has_space(); }
  inbox<U>* dst;
};

template <class T>
struct link {
  ref<node_base> node;
  sink<T>* to = nullptr;
  std::shared_ptr<void> keep;  // the converting sink, when there is one
};

// ---------------------------------------------------------------------------------------------
/// The registry and scheduler of a local network. Thread-safe.
class local_engine {
 public:
  explicit local_engine(network_config cfg)
      : cfg_(normalize(std::move(cfg))), sched_(cfg_.workers) {}
  local_engine(local_engine const&) = delete;
  local_engine& operator=(local_engine const&) = delete;
  ~local_engine() {
    sched_.stop();
    std::vector<ref<node_base>> all;
    {
      std::unique_lock lk(reg_mu_);
      for (auto& [id, n] : nodes_) all.push_back(n);
      nodes_.clear();
    }
    for (auto& n : retired_) all.push_back(n);
    retired_.clear();
    for (auto& n : all) n->clear_references();
  }

  network_config const& config() const noexcept { return cfg_; }
  scheduler& sched() noexcept { return sched_; }

  /// The node with this id, or null.
  ref<node_base> find(node_id const& id) const {
    std::shared_lock lk(reg_mu_);
    auto it = nodes_.find(id);
    return it == nodes_.end() ? ref<node_base>{} : it->second;
  }
  /// Every node, in no particular order.
  std::vector<ref<node_base>> all_nodes() const {
    std::shared_lock lk(reg_mu_);
    std::vector<ref<node_base>> out;
    out.reserve(nodes_.size());
    for (auto const& [id, n] : nodes_) out.push_back(n);
    return out;
  }

  /// Serializes changes of the topology (start, stop, connect, disconnect).
  std::mutex& topology() noexcept { return topo_mu_; }

  /// Adds a node (topology lock held by the caller; the id was checked free).
  void insert(ref<node_base> n) {
    std::unique_lock lk(reg_mu_);
    nodes_.emplace(n->id(), std::move(n));
  }
  /// Removes a node (topology lock held by the caller).
  void erase(node_id const& id) {
    ref<node_base> n;
    {
      std::unique_lock lk(reg_mu_);
      auto it = nodes_.find(id);
      if (it == nodes_.end()) return;
      n = std::move(it->second);
      nodes_.erase(it);
    }
    retired_.push_back(n);
    // Forget retired nodes that finished their last turn (nobody else refers to them).
    std::erase_if(retired_, [](ref<node_base> const& r) { return r->idle() && r->stopped() && r->out_ids.empty(); });
  }

  void log(std::string_view line) const noexcept { mesh::detail::write_log(cfg_.logger, "mesh.flow", line); }

  /// Waits until every node is idle (two identical scans), or `timeout` passes.
  bool wait_idle(std::chrono::milliseconds timeout) const {
    auto const until = clock::now() + timeout;
    auto scan = [&](std::uint64_t& total) {
      bool idle = true;
      total = 0;
      for (auto const& n : all_nodes()) {
        total += n->pushed();
        idle = idle && n->idle();
      }
      return idle;
    };
    auto pause = std::chrono::microseconds(20);
    while (true) {
      std::uint64_t a = 0, b = 0;
      if (scan(a) && scan(b) && a == b) return true;
      if (clock::now() >= until) return false;
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(2));
    }
  }

 private:
  static network_config normalize(network_config c) {
    if (c.workers == 0) c.workers = std::max(1u, std::thread::hardware_concurrency());
    if (c.queue_capacity < 2) c.queue_capacity = 2;
    if (c.batch == 0) c.batch = 1;
    return c;
  }

  network_config cfg_;
  scheduler sched_;
  mutable std::shared_mutex reg_mu_;
  std::unordered_map<node_id, ref<node_base>> nodes_;
  std::mutex topo_mu_;
  std::vector<ref<node_base>> retired_;  // stopped nodes, kept until their last turn is over
};

inline void node_base::schedule() {
  if (claimed_.exchange(true, std::memory_order_acq_rel)) return;
  retain();
  engine_.sched().submit(this);
}
inline void node_base::resubmit() {
  retain();
  engine_.sched().submit(this);
}
inline void node_base::wake_waiters() {
  if (!has_waiters_.load(std::memory_order_seq_cst)) return;
  std::vector<ref<node_base>> ws;
  {
    std::lock_guard lk(waiters_mu_);
    ws.swap(waiters_);
    has_waiters_.store(false, std::memory_order_relaxed);
  }
  for (auto& w : ws)
    if (w->parked_.exchange(0, std::memory_order_acq_rel) != 0) engine_.sched().submit(w.detach());
}
inline void node_base::stop() {
  stopped_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard lk(ext_mu_);
    ext_cv_.notify_all();
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_waiters();
  // Let it discard what is queued (and let go of what it holds) on its next turn.
  if (parked_.exchange(0, std::memory_order_acq_rel) != 0) resubmit();
  else schedule();
}
inline void node_base::on_error(char const* what) {
  auto const n = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  {
    std::lock_guard lk(error_mu_);
    last_error_ = what;
  }
  if (n <= 10 || n % 1000 == 0)
    engine_.log("node " + id_.to_string() + " (" + logic_name() + "): process() threw (error #" + std::to_string(n) +
                "): " + what + "; the node keeps running");
}

// ---------------------------------------------------------------------------------------------
/// The output side of a node whose output is T: links, the emitter port, and the items held back
/// by a full downstream queue (the outbox). Used only by the node's current turn.
template <class T>
class output_side final : public emit_port<T> {
 public:
  explicit output_side(node_base& self) : self_(self) {}

  void add(ref<node_base> target, sink<T>* s, std::shared_ptr<void> keep) {
    std::lock_guard lk(mu_);
    auto next = std::make_shared<std::vector<link<T>>>(links_ ? *links_ : std::vector<link<T>>{});
    next->push_back(link<T>{std::move(target), s, std::move(keep)});
    links_ = std::move(next);
    version_.fetch_add(1, std::memory_order_release);
  }
  void remove(node_base const* target) {
    std::lock_guard lk(mu_);
    if (!links_) return;
    auto next = std::make_shared<std::vector<link<T>>>(*links_);
    std::erase_if(*next, [&](link<T> const& l) { return l.node.get() == target; });
    links_ = std::move(next);
    version_.fetch_add(1, std::memory_order_release);
  }
  /// Picks up link changes (cheap when there are none).
  void refresh() {
    auto const v = version_.load(std::memory_order_acquire);
    if (v == seen_) return;
    std::lock_guard lk(mu_);
    current_ = links_;
    seen_ = version_.load(std::memory_order_relaxed);
  }
  bool holding() const noexcept { return !outbox_.empty(); }
  void clear() {
    {
      std::lock_guard lk(mu_);
      links_.reset();
      version_.fetch_add(1, std::memory_order_release);
    }
    current_.reset();
    outbox_.clear();
  }
  std::size_t discard_held() {
    auto const n = outbox_.size();
    outbox_.clear();
    return n;
  }

  void broadcast(T const& v) override {
    refresh();
    if (!current_) return;
    for (auto const& l : *current_) {
      T copy(v);
      push(l, copy);
    }
  }
  void broadcast(T&& v) override {
    refresh();
    if (!current_) return;
    auto const& ls = *current_;
    for (std::size_t i = 0; i + 1 < ls.size(); ++i) {
      T copy(v);
      push(ls[i], copy);
    }
    if (!ls.empty()) push(ls.back(), v);
  }
  result<void> send_to(node_id const& id, T&& v) override;

  /// Pushes what the outbox holds, in order. False: parked on a full node (the claim is kept and
  /// a waker resubmits the node); the caller must return at once without touching the node.
  bool flush(std::atomic<std::uint64_t>& parked) {
    while (!outbox_.empty()) {
      auto& e = outbox_.front();
      auto const st = e.first.to->try_push(e.second);
      if (st == push_status::full) {
        // Once `parked` is set a waker may resubmit this node, and its next turn may run on
        // another worker at once: from here on touch only locals (not the outbox), and take the
        // node back only with our own token (a later park has another one).
        ref<node_base> target = e.first.node;
        sink<T>* to = e.first.to;
        std::uint64_t const token = ++park_seq_;
        parked.store(token, std::memory_order_seq_cst);
        target->add_waiter(self_);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!to->has_space()) return false;
        std::uint64_t expected = token;
        if (!parked.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return false;  // resubmitted
        continue;
      }
      if (st == push_status::closed) self_.count_dropped();
      outbox_.pop_front();
    }
    return true;
  }

 private:
  void push(link<T> const& l, T& v) {
    if (!outbox_.empty()) {
      outbox_.emplace_back(l, std::move(v));
      return;
    }
    switch (l.to->try_push(v)) {
      case push_status::ok: return;
      case push_status::full: outbox_.emplace_back(l, std::move(v)); return;
      case push_status::closed: self_.count_dropped(); return;
    }
  }

  node_base& self_;
  std::mutex mu_;
  std::shared_ptr<std::vector<link<T>>> links_;
  std::atomic<std::uint64_t> version_{0};
  std::shared_ptr<std::vector<link<T>>> current_;
  std::uint64_t seen_ = ~std::uint64_t{0};
  std::deque<std::pair<link<T>, T>> outbox_;
  std::uint64_t park_seq_ = 0;
};

template <class T>
result<void> output_side<T>::send_to(node_id const& id, T&& v) {
  auto n = self_.engine().find(id);
  if (!n) {
    self_.count_undeliverable();
    return fail(errc::not_found, "send_to: no flow node " + id.to_string());
  }
  if (n->input_type() != key_of<T>()) {
    self_.count_undeliverable();
    return fail(errc::type_mismatch, "send_to: node " + id.to_string() + " takes " + n->input_name() + ", not " +
                                         type_name_of<T>());
  }
  auto* s = static_cast<sink<T>*>(n->input_sink());
  push(link<T>{std::move(n), s, {}}, v);
  return {};
}

template <>
class output_side<void> {
 public:
  explicit output_side(node_base&) {}
  bool holding() const noexcept { return false; }
  bool flush(std::atomic<std::uint64_t>&) { return true; }
  void refresh() {}
  void clear() {}
  std::size_t discard_held() { return 0; }
};

// ---------------------------------------------------------------------------------------------
/// A local node running logic L.
template <class L>
class local_node final : public inbox<input_t<L>> {
  using In = input_t<L>;
  using Out = output_t<L>;
  using base = inbox<In>;

 public:
  local_node(local_engine& e, node_id id, options_t<L> const* opts)
      : base(e, std::move(id), e.config().queue_capacity), out_(*this) {
    if constexpr (detail::has_options<L>) {
      logic_.emplace(*opts);
      options_ = summary_of(*opts);
    } else {
      (void)opts;
      logic_.emplace();
    }
  }

  type_key input_type() const noexcept override { return key_of<In>(); }
  type_key output_type() const noexcept override { return key_of<Out>(); }
  type_key logic_type() const noexcept override { return key_of<L>(); }
  std::string input_name() const override { return type_name_of<In>(); }
  std::string output_name() const override { return type_name_of<Out>(); }
  std::string logic_name() const override { return std::string(flow::logic_name<L>()); }
  std::string const& options_summary() const noexcept override { return options_; }

  void add_link(ref<node_base> target, void* s, std::shared_ptr<void> keep) override {
    if constexpr (!std::is_void_v<Out>) out_.add(std::move(target), static_cast<sink<Out>*>(s), std::move(keep));
    else (void)target, (void)s, (void)keep;
  }
  void remove_link(node_base const* target) override {
    if constexpr (!std::is_void_v<Out>) out_.remove(target);
    else (void)target;
  }
  void clear_references() override {
    out_.clear();
    std::lock_guard lk(this->waiters_mu_);
    this->waiters_.clear();
  }

  /// Runs `f(logic)` under the state lock (retrieve_data).
  template <class F>
  decltype(auto) with_logic(F&& f) {
    std::lock_guard lk(this->state_mu_);
    return std::forward<F>(f)(std::as_const(*logic_));
  }

  void run() override {
    if (this->stopped()) return finish();
    if (out_.holding() && !out_.flush(this->parked_)) return;  // still parked
    std::size_t const budget = this->engine().config().batch;
    std::size_t n = 0, failed = 0;
    {
      std::lock_guard lk(this->state_mu_);
      if constexpr (std::is_void_v<Out>) {
        emitter<void> em;
        while (n < budget) {
          In* item = this->q_.front();
          if (!item) break;
          if (!invoke(*item, em)) ++failed;
          this->q_.pop();
          ++n;
        }
      } else {
        emitter<Out> em(out_);
        while (n < budget) {
          In* item = this->q_.front();
          if (!item) break;
          if (!invoke(*item, em)) ++failed;
          this->q_.pop();
          ++n;
          if (out_.holding()) break;
        }
      }
    }
    this->processed_.fetch_add(n - failed, std::memory_order_relaxed);
    this->notify_space();
    if (out_.holding() && !out_.flush(this->parked_)) return;  // parked: a waker resubmits us
    if (n == budget) this->resubmit();
    else this->release_claim();
  }

 private:
  template <class E>
  bool invoke(In const& item, E& em) {
    try {
      if constexpr (detail::rolls_back_on_error<L>) {
        L saved(*logic_);
        try {
          call(item, em);
        } catch (...) {
          *logic_ = std::move(saved);
          throw;
        }
      } else {
        call(item, em);
      }
      return true;
    } catch (std::exception const& e) {
      this->on_error(e.what());
    } catch (...) {
      this->on_error("unknown exception");
    }
    return false;
  }
  template <class E>
  void call(In const& item, E& em) {
    if constexpr (detail::processes_with_emitter<L>) logic_->process(item, em);
    else logic_->process(item);
  }

  /// The node was stopped: discard what is queued and held, let go of links and waiters.
  void finish() {
    std::size_t n = 0;
    while (this->q_.front()) {
      this->q_.pop();
      ++n;
    }
    n += out_.discard_held();
    this->count_dropped(n);
    out_.clear();
    this->notify_space();
    this->claimed_.store(false, std::memory_order_release);
  }

  std::optional<L> logic_;
  std::string options_;
  output_side<Out> out_;
};

}  // namespace mesh::flow::detail
