#pragma once
/// Activations and mailboxes: one activation per (actor type, id) on a node, created lazily,
/// running one message at a time on the worker pool, with a bounded intrusive mailbox.

#include <mesh/actor/context.hpp>
#include <mesh/actor/reply.hpp>
#include <mesh/actor/runtime.hpp>
#include <mesh/core/actor_traits.hpp>
#include <mesh/store/store.hpp>
#include <mesh/wire/codec.hpp>

#include <array>
#include <exception>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

namespace mesh::detail {

/// A tiny test-and-test-and-set lock: mailbox critical sections are a few pointer moves.
class spinlock {
 public:
  void lock() noexcept {
    while (f_.exchange(true, std::memory_order_acquire))
      while (f_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() noexcept { f_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> f_{false};
};

template <class A>
class activation;
class activation_base;

/// One message waiting in a mailbox. Local messages carry the typed payload (never serialized);
/// remote ones carry the decoded payload and a responder. Envelopes are typed by reply type only:
/// the actor and message types are reached through the thunks they hold.
struct envelope_base {
  envelope_base* next = nullptr;
  clock::time_point deadline = clock::time_point::max();
  std::uint64_t chain = 0;  // the call chain of a call (0: a cast, or a call from outside any handler)
  virtual ~envelope_base() = default;
  // Unsized: an envelope may share its allocation with its payload (see new_envelope), so the
  // size a sized delete would pass is not the size allocated.
  static void operator delete(void* p) noexcept { ::operator delete(p); }
  /// Releases the envelope once it left the mailbox (a local call shares it with the caller's
  /// call state and frees it when both are done).
  virtual void dispose() noexcept { delete this; }
  /// True when nobody waits for the result any more (the caller's deadline passed).
  virtual bool abandoned() const noexcept { return false; }
  /// Completes the request with an error.
  virtual void fail(error e) = 0;
  /// The init argument this message carries (an init_arg_t of the target actor type), or null.
  virtual void const* init() const noexcept { return nullptr; }
  /// Runs the handler on `self` (an instance of the target actor type) and completes the request.
  /// Returns true when the handler is a coroutine that suspended: the envelope then stays alive
  /// (not disposed) until the task finishes and completes it (actor/task.hpp).
  virtual bool deliver(void* self, context& ctx, activation_base& act) = 0;
  /// Completes the request with the value at `slot` (a value_slot of its reply type).
  virtual void reply(void* slot, activation_base& act) = 0;
};

/// unique_ptr deleter for envelopes: dispose() instead of delete.
struct envelope_disposer {
  void operator()(envelope_base* e) const noexcept { e->dispose(); }
};
using envelope_ptr = std::unique_ptr<envelope_base, envelope_disposer>;

inline std::string describe(std::string_view actor, std::string_view id) {
  return "actor '" + std::string(actor) + "' id '" + std::string(id) + "'";
}

/// errc::rejected with the handler's reason (out of line: built only when it happens).
[[gnu::cold, gnu::noinline]] inline error was_rejected(rejected const& r) { return fail(errc::rejected, r.what()); }

/// errc::actor_failed for an exception thrown by an actor's constructor or handler. Out of line
/// and cold: error paths are shared by every actor and message type instead of inlined into each.
[[gnu::cold, gnu::noinline]] inline error threw(std::string_view actor, std::string_view id, char const* where,
                                                std::exception_ptr ep) {
  return fail(errc::actor_failed, std::string(where) + " of " + describe(actor, id) + " threw: " + exception_text(ep));
}

/// Thrown by activation_base::after_handler when the store did not save an actor's state; caught
/// by activation::run_with (never escapes to user code).
struct state_not_saved {
  error why;
};

/// A store's error while loading or saving a state, with the actor, id and store named. A fenced
/// write keeps errc::rebalancing (retry: the new owner has the state); anything else is
/// errc::store_failed.
[[gnu::cold, gnu::noinline]] inline error store_error(char const* doing, std::string_view actor, std::string_view id,
                                                      mesh::store const& st, error e) {
  if (e.code == errc::rebalancing) return e;  // the store's text names the newer owner
  return fail(errc::store_failed, std::string(doing) + " " + describe(actor, id) + " in " + st.describe() + " failed: " + e.message);
}

[[gnu::cold, gnu::noinline]] inline error undecodable_state(std::string_view actor, std::string_view id, error const& why) {
  return fail(errc::bad_message, "saved state of " + describe(actor, id) +
                                     " does not decode as the actor's `state` type (changed since it was saved?): " + why.message);
}

[[gnu::cold, gnu::noinline]] inline error mailbox_full(std::string_view actor, std::string_view id, std::size_t capacity) {
  return fail(errc::overloaded, "mailbox of " + describe(actor, id) + " is full (" + std::to_string(capacity) + " messages)");
}

[[gnu::cold, gnu::noinline]] inline error call_cycle(std::string_view actor, std::string_view id) {
  return fail(errc::call_cycle, "call to " + describe(actor, id) +
                                    " would wait on itself: that activation is running a handler of the same call chain (A -> B -> A)");
}

[[gnu::cold, gnu::noinline]] inline error expired_in_mailbox(std::string_view actor, std::string_view id) {
  return fail(errc::timeout, "call to " + describe(actor, id) + " expired in the mailbox");
}

[[gnu::cold, gnu::noinline]] inline error shutting_down(std::string const& node) {
  return fail(errc::shutting_down, "node '" + node + "' is shutting down");
}

[[gnu::cold, gnu::noinline]] inline error not_in_schema(std::string_view actor) {
  return fail(errc::not_found, "actor '" + std::string(actor) + "' is not in this node's schema");
}

/// Invokes A's handler for M, with the context when the handler takes one.
template <class A, class M>
decltype(auto) invoke_handler(A& self, M const& m, context& ctx) {
  if constexpr (handles_plain<A, M>) return self.handle(m);
  else return self.handle(m, ctx);
}

class actor_table_base;

/// The mailbox and scheduling state of one activation. Not a template: the queueing, claiming,
/// retiring and shutdown logic is compiled once, whatever the number of actor types; only the
/// instance (activation<A>) is typed.
class activation_base : public runnable {
 public:
  enum class push_result { ok, dead, full, cycle };

  activation_base(actor_table_base& table, std::string id) : table_(table), id_(std::move(id)) {}
  ~activation_base() override {
    abandon_task();
    // Anything still queued (only on shutdown) fails rather than vanishing.
    while (auto* e = head_) {
      head_ = e->next;
      e->fail(fail(errc::shutting_down, "node is shutting down"));
      e->dispose();
    }
  }

  std::string const& id() const noexcept { return id_; }
  inline node_core& core() const noexcept;
  inline std::string_view actor_name() const noexcept;

  /// Queues a message; sets `schedule` when the activation was idle and the caller must submit()
  /// it. It is then marked scheduled, so it cannot be retired (and stays alive) until it has run.
  push_result enqueue(envelope_base* e, std::size_t capacity, bool& schedule) {
    std::lock_guard lk(lock_);
    if (dead_) return push_result::dead;
    // A call of the chain this activation is running would wait for itself: fail it now.
    if (e->chain != 0 && e->chain == running_chain_.load(std::memory_order_relaxed)) [[unlikely]] return push_result::cycle;
    if (count_ >= capacity) return push_result::full;
    if (tail_) tail_->next = e;
    else head_ = e;
    tail_ = e;
    ++count_;
    if (!scheduled_) schedule = scheduled_ = true;
    return push_result::ok;
  }

  /// Claims an idle activation with an empty mailbox for inline execution on the caller's thread.
  bool try_claim_idle() {
    std::lock_guard lk(lock_);
    if (dead_ || scheduled_ || count_ != 0) return false;
    scheduled_ = true;
    return true;
  }
  /// Releases an inline claim; hands over to the pool if messages arrived meanwhile.
  void release_claim() {
    bool resubmit = false;
    {
      std::lock_guard lk(lock_);
      if (count_ > 0) resubmit = true;
      else scheduled_ = false;
    }
    if (resubmit) submit();
  }

  actor_ref ref() const { return actor_ref{core().name(), std::string(actor_name()), id_}; }

  /// Messages waiting in the mailbox (metrics).
  std::size_t queued() {
    std::lock_guard lk(lock_);
    return count_;
  }

  /// Messages one activation handles per turn on a worker before it requeues itself: enough to
  /// amortize the requeue, few enough that a busy activation does not starve the others.
  static constexpr int messages_per_turn = 64;

  /// Worker entry point: drains a batch of messages, then yields the worker for fairness.
  void run() override {
    for (int i = 0; i < messages_per_turn; ++i) {
      envelope_base* e;
      {
        std::lock_guard lk(lock_);
        e = head_;
        if (!e) {
          scheduled_ = false;
          return;
        }
        head_ = e->next;
        if (!head_) tail_ = nullptr;
        --count_;
      }
      envelope_ptr guard(e);
      if (e->abandoned()) continue;  // the caller gave up: don't run work nobody waits for
      if (past(e->deadline)) {
        e->fail(expired_in_mailbox(actor_name(), id_));
        continue;
      }
      if (!core().serving()) [[unlikely]] {  // fenced (keep_majority) since it was queued
        e->fail(core().no_quorum());
        continue;
      }
      if (process(*e)) {  // a coroutine handler suspended: this turn ends, the mailbox waits for it
        guard.release();
        return;
      }
    }
    bool more;
    {
      std::lock_guard lk(lock_);
      more = head_ != nullptr;
      if (!more) scheduled_ = false;
    }
    if (more) submit();
  }

  /// Marks the activation dead when it is idle since before `cutoff` (or unconditionally idle when
  /// cutoff is max). Returns whether it was retired.
  bool try_retire(clock::time_point cutoff) {
    std::lock_guard lk(lock_);
    if (dead_ || scheduled_ || count_ != 0) return false;
    if (cutoff != clock::time_point::max() && last_used() >= cutoff) return false;
    dead_ = true;
    return true;
  }

  /// Runs the actor's on_deactivate() hook (if any) on a retired activation and drops the instance.
  virtual void deactivate() noexcept = 0;
  /// Drops the instance (a coroutine handler threw): the next message re-creates it.
  virtual void discard_instance() noexcept = 0;

  /// A coroutine handler suspended (actor/task.hpp): the activation stays scheduled, taking no
  /// other message, until task_finished(). `abandon` destroys the task if the activation goes
  /// first (the node stopped with the task still waiting).
  void task_suspended(void* task, void (*abandon)(void*) noexcept) noexcept {
    suspended_task_ = task;
    abandon_task_ = abandon;
    task_pending_.store(task != nullptr, std::memory_order_release);
  }
  /// The suspended coroutine handler finished and completed its request: the activation takes
  /// its next message (on a worker), or goes idle.
  void task_finished() {
    suspended_task_ = nullptr;
    task_pending_.store(false, std::memory_order_release);
    running_chain_.store(0, std::memory_order_relaxed);  // its chain ends with it
    touch();
    bool more;
    {
      std::lock_guard lk(lock_);
      more = head_ != nullptr;
      if (!more) scheduled_ = false;
    }
    if (more) submit();
  }
  /// Destroys a still suspended task, failing its request (shutdown only: the pool has stopped).
  void abandon_task() noexcept {
    if (auto* t = std::exchange(suspended_task_, nullptr)) abandon_task_(t);
  }

  /// Called by every request path after a handler returned normally and before its reply leaves:
  /// saves the instance's `state` to node_config::store (write-through, fenced) when this
  /// activation claimed it from one; else one null test. Throws detail::state_not_saved, which
  /// run_with turns into the call's error (and discards the instance). `self` is the instance.
  void after_handler(void* self) {
    if (commit_) [[unlikely]] commit_(*this, self);
  }

  // Handoff hooks (a shard moving between live nodes, docs/state.md): the old owner reads the
  // state of an idle (retired) activation, the new owner installs it into a fresh one.

  /// The msgpack bytes of the instance's `state`; none when the actor has no `state` or no
  /// instance. Caller must hold the activation (or have retired it).
  virtual std::optional<std::string> state_bytes() const { return std::nullopt; }
  /// Constructs the instance (with `init`, an init_arg_t of the actor, or a value-initialized
  /// one) and sets its `state` from `bytes` instead of the store's copy; with a store, the id is
  /// still claimed first, so the previous owner's writes are fenced. errc::bad_message for bytes
  /// that do not decode, errc::invalid_argument for an actor without `state` or an activation that
  /// already has an instance. Caller must hold the activation.
  virtual result<void> install_state(void const* init, std::string_view bytes) {
    (void)init;
    (void)bytes;
    return fail(errc::invalid_argument, "actor '" + std::string(actor_name()) + "' has no `state` member to install");
  }

  /// Fails everything queued (shutdown) and marks the activation dead.
  void fail_all(error const& e) {
    envelope_base* list;
    {
      std::lock_guard lk(lock_);
      dead_ = true;
      list = head_;
      head_ = tail_ = nullptr;
      count_ = 0;
    }
    while (list) {
      auto* n = list->next;
      list->fail(e);
      list->dispose();
      list = n;
    }
  }

 protected:
  /// Runs one dequeued, still wanted message on the instance (the typed part). True when its
  /// handler is a coroutine that suspended (the envelope then belongs to the task).
  virtual bool process(envelope_base& e) = 0;

  friend class actor_table_base;  // push_to() submits after enqueue()
  void submit();
  /// Records the last use for idle deactivation: the coarse clock rounded up by its tick, so an
  /// activation never looks idle for longer than it was (it may look idle one tick less).
  void touch() noexcept {
    last_used_.store((coarse_now() + coarse_tick()).time_since_epoch().count(), std::memory_order_relaxed);
  }
  clock::time_point last_used() const noexcept {
    return clock::time_point(clock::duration(last_used_.load(std::memory_order_relaxed)));
  }

  actor_table_base& table_;
  std::string id_;
  std::uint64_t fence_epoch_ = 0;  // node_core::fence_epoch() when the instance was made (holder only)
  std::atomic<std::uint64_t> running_chain_{0};  // the chain of the handler running now (0: none)
  std::atomic<bool> task_pending_{false};        // a coroutine handler is suspended (task_suspended)

  /// While a handler runs: its call chain is the thread's and the activation's (calls it makes
  /// carry it; a call of it to this activation fails with call_cycle instead of waiting).
  class chain_scope {
   public:
    chain_scope(activation_base& a, std::uint64_t chain) noexcept
        : a_(a), outer_(this_thread_context().chain), chain_(chain ? chain : fresh_chain()) {
      this_thread_context().chain = chain_;
      a_.running_chain_.store(chain_, std::memory_order_relaxed);
    }
    chain_scope(chain_scope const&) = delete;
    chain_scope& operator=(chain_scope const&) = delete;
    ~chain_scope() {
      // A coroutine handler that suspended still runs its chain: task_finished() ends it. (Only
      // if it is still ours: the task may have finished and the next message begun meanwhile.)
      if (!a_.task_pending_.load(std::memory_order_acquire)) {
        auto mine = chain_;
        a_.running_chain_.compare_exchange_strong(mine, 0, std::memory_order_relaxed);
      }
      this_thread_context().chain = outer_;
    }

   private:
    activation_base& a_;
    std::uint64_t outer_, chain_;
  };
  /// Saves the state after a handler (set while the instance was claimed from a store).
  void (*commit_)(activation_base&, void* self) = nullptr;

 private:
  spinlock lock_;
  std::uint32_t count_ = 0;
  bool scheduled_ = false;
  bool dead_ = false;
  envelope_base* head_ = nullptr;
  envelope_base* tail_ = nullptr;
  void* suspended_task_ = nullptr;  // see task_suspended
  void (*abandon_task_)(void*) noexcept = nullptr;
  std::atomic<clock::rep> last_used_{clock::now().time_since_epoch().count()};
};

/// One activation of actor type A: the mailbox plus the lazily constructed instance.
template <class A>
class activation final : public activation_base {
 public:
  using activation_base::activation_base;

  /// Constructs the instance if there is none (with `init`, or a value-initialized init_arg).
  /// A throwing constructor is errc::actor_failed. For an actor with a `state` member and a
  /// configured store, the id is then claimed and the saved state loaded (errc::store_failed,
  /// errc::bad_message; the instance is not kept). Caller must hold the activation.
  [[gnu::noinline]] result<void> ensure_instance(init_arg_t<A> const* init) {
    if (instance_) {
      // The node lost its majority since this instance was made: another node may have served
      // the id meanwhile, so this state is stale. Start over, as a fresh activation would.
      if (fence_epoch_ == core().fence_epoch()) [[likely]] return {};
      deactivate();
    }
    fence_epoch_ = core().fence_epoch();
    if (auto ok = construct(init); !ok) return ok;
    if constexpr (has_state_member<A>) {
      if (auto* st = core().config().store.get()) {
        if (auto ok = load_state(*st, nullptr); !ok) return ok;
      }
    }
    return {};
  }

  /// Runs `f(data, self, ctx)` with the instance, constructing it first if needed. Exceptions
  /// become errc::actor_failed and discard the instance. Caller must hold the activation. Takes a
  /// plain function so that there is one copy per actor type, whatever the callers.
  /// `chain`: the call chain the message came with (the caller's own, for a call run inline on
  /// the caller's thread); 0 starts a new one.
  [[gnu::noinline]] result<void> run_with(init_arg_t<A> const* init, void (*f)(void* data, A& self, context& ctx), void* data,
                                          std::uint64_t chain = current_chain()) {
    if (auto ok = ensure_instance(init); !ok) return ok;
    chain_scope in_chain(*this, chain);
    try {
      f(data, *instance_, ctx_);
    } catch (state_not_saved& s) {  // the store refused or failed: memory is ahead of the store
      drop_instance();
      return std::move(s.why);
    } catch (rejected const& r) {  // a domain error: the instance and its state stay
      touch();
      return was_rejected(r);
    } catch (...) {
      drop_instance();
      return threw(actor_name_v<A>, id_, "handler", std::current_exception());
    }
    touch();
    return {};
  }

  void deactivate() noexcept override {
    abandon_task();
    if constexpr (requires(A& a) { a.on_deactivate(); }) {
      if (instance_) {
        try {
          instance_->on_deactivate();
        } catch (...) {  // nobody to return it to: logged, and the instance goes anyway
          try {
            core().log(log_level::error, threw(actor_name_v<A>, id_, "on_deactivate()", std::current_exception()).message);
          } catch (...) {  // out of memory while reporting
          }
        }
      }
    }
    drop_instance();
  }

  std::optional<std::string> state_bytes() const override {
    if constexpr (has_state_member<A>) {
      if (instance_) return wire::encode(instance_->state);
    }
    return std::nullopt;
  }

  result<void> install_state(void const* init, std::string_view bytes) override {
    if constexpr (has_state_member<A>) {
      if (instance_) return fail(errc::invalid_argument, describe(actor_name_v<A>, id_) + " already has an instance");
      fence_epoch_ = core().fence_epoch();
      if (auto ok = construct(static_cast<init_arg_t<A> const*>(init)); !ok) return ok;
      if (auto* st = core().config().store.get()) return load_state(*st, &bytes);
      if (auto ok = decode_state(bytes); !ok) return ok;
      return {};
    } else {
      return activation_base::install_state(init, bytes);
    }
  }

 private:
  result<void> construct(init_arg_t<A> const* init) {
    try {
      if constexpr (has_init_arg<A>) {
        if (init) instance_.emplace(std::string_view(id_), *init);
        else instance_.emplace(std::string_view(id_), init_arg_t<A>{});
      } else if constexpr (std::is_constructible_v<A, std::string_view>) {
        instance_.emplace(std::string_view(id_));
      } else {
        instance_.emplace();
      }
    } catch (...) {
      instance_.reset();
      return threw(actor_name_v<A>, id_, "constructor", std::current_exception());
    }
    return {};
  }

  void drop_instance() noexcept {
    instance_.reset();
    commit_ = nullptr;
  }

  /// Sets the instance's state from `bytes` (the stored or handed-off copy); a failure drops it.
  [[gnu::cold, gnu::noinline]] result<void> decode_state(std::string_view bytes) {
    wire::limits lim;
    lim.max_payload_bytes = bytes.size();  // trusted, already stored: only the structure is checked
    if (auto ok = wire::decode_into(bytes, instance_->state, lim); !ok) {
      drop_instance();
      return undecodable_state(actor_name_v<A>, id_, ok.error());
    }
    return {};
  }

  /// Claims the id in `st` (the fencing token for later saves) and sets the state from the saved
  /// copy, or from `handed_off` when given. Any failure drops the instance.
  [[gnu::noinline]] result<void> load_state(mesh::store& st, std::string_view const* handed_off) {
    auto c = st.claim(actor_name_v<A>, id_, core().name());
    if (!c) {
      drop_instance();
      return store_error("loading the state of", actor_name_v<A>, id_, st, std::move(c).error());
    }
    if (handed_off) {
      if (auto ok = decode_state(*handed_off); !ok) return ok;
    } else if (c->bytes) {
      if (auto ok = decode_state(*c->bytes); !ok) return ok;
    }
    token_ = c->token;
    commit_ = &commit_state;
    return {};
  }

  /// activation_base::commit_ for A: one fenced save of `self`'s state.
  static void commit_state(activation_base& base, void* self) {
    auto& act = static_cast<activation&>(base);
    auto& st = *act.core().config().store;
    std::string bytes = wire::encode(static_cast<A*>(self)->state);
    if (auto ok = st.save(actor_name_v<A>, act.id_, bytes, act.token_); !ok)
      throw state_not_saved{store_error("saving the state of", actor_name_v<A>, act.id_, st, std::move(ok).error())};
  }

 private:
  void discard_instance() noexcept override { instance_.reset(); }

  bool process(envelope_base& e) override {
    struct args {
      envelope_base* e;
      activation* act;
      bool suspended;
    } a{&e, this, false};
    auto r = run_with(
        static_cast<init_arg_t<A> const*>(e.init()),
        [](void* d, A& self, context& ctx) {
          auto& x = *static_cast<args*>(d);
          x.suspended = x.e->deliver(&self, ctx, *x.act);
        },
        &a, e.chain);
    if (!r) e.fail(std::move(r).error());
    return a.suspended;
  }

  std::optional<A> instance_;
  std::uint64_t token_ = 0;  // the store's fencing token from this instance's claim
  // One context for the activation's life: a coroutine handler keeps its `context&` across
  // suspensions, so it must outlive every handler invocation.
  context ctx_{core(), actor_name_v<A>, id_};
};

/// One stripe's map id -> V: chained, with a power-of-two bucket array indexed by the hash bits
/// above the stripe bits, and the full hash in each node (a lookup costs no division and, on a
/// miss, rarely a string compare). Not thread-safe: the stripe's lock guards it.
template <class V>
class id_map {
 public:
  static constexpr unsigned skip_bits = 6;  // low hash bits already used to pick the stripe

  id_map() = default;
  id_map(id_map const&) = delete;
  id_map& operator=(id_map const&) = delete;
  ~id_map() { clear(); }

  V* find(std::size_t hash, std::string_view id) const noexcept {
    if (size_ == 0) return nullptr;
    for (node* n = buckets_[index(hash)]; n; n = n->next)
      if (n->hash == hash && n->id == id) return &n->value;
    return nullptr;
  }
  /// Inserts a new entry (the id must be absent; `id` must outlive the entry).
  void insert(std::size_t hash, std::string_view id, V value) {
    if (size_ >= cap_) grow();
    auto& head = buckets_[index(hash)];
    head = new node{head, hash, id, std::move(value)};
    ++size_;
  }
  std::size_t size() const noexcept { return size_; }
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t b = 0; b < cap_; ++b)
      for (node* n = buckets_[b]; n; n = n->next) f(n->id, n->value);
  }
  /// Removes the entries for which `f(id, value)` returns true (f may move the value out).
  template <class F>
  void erase_if(F&& f) {
    for (std::size_t b = 0; b < cap_; ++b) {
      node** link = &buckets_[b];
      while (node* n = *link) {
        if (f(n->id, n->value)) {
          *link = n->next;
          delete n;
          --size_;
        } else {
          link = &n->next;
        }
      }
    }
  }
  void swap(id_map& o) noexcept {
    std::swap(buckets_, o.buckets_);
    std::swap(cap_, o.cap_);
    std::swap(size_, o.size_);
  }

 private:
  struct node {
    node* next;
    std::size_t hash;
    std::string_view id;
    V value;
  };
  std::size_t index(std::size_t hash) const noexcept { return (hash >> skip_bits) & (cap_ - 1); }
  void grow() {
    std::size_t const cap = cap_ ? cap_ * 2 : 8;
    std::unique_ptr<node*[]> fresh(new node*[cap]());
    for (std::size_t b = 0; b < cap_; ++b) {
      for (node* n = buckets_[b]; n;) {
        node* next = n->next;
        auto& head = fresh[(n->hash >> skip_bits) & (cap - 1)];
        n->next = head;
        head = n;
        n = next;
      }
    }
    buckets_ = std::move(fresh);
    cap_ = cap;
  }
  void clear() noexcept {
    erase_if([](std::string_view, V&) { return true; });
  }

  std::unique_ptr<node*[]> buckets_;
  std::size_t cap_ = 0;  // a power of two (0 before the first insert)
  std::size_t size_ = 0;
};

/// All activations of one actor type on a node: a striped hash map id -> activation. The map
/// logic is shared by every actor type; actor_table<A> only creates typed activations.
class actor_table_base : public table_base {
 public:
  explicit actor_table_base(node_core& core) : core_(core) {}
  // Here and out of line, not in actor_table<A>: one copy of the shutdown loop and of the map's
  // teardown for every actor type.
  [[gnu::noinline]] ~actor_table_base() override { actor_table_base::shutdown(); }

  node_core& core() const noexcept { return core_; }

  /// The activation for `id`, created when absent.
  [[gnu::noinline]] std::shared_ptr<activation_base> get_or_create_base(std::string_view id) {
    auto const h = hash_id(id);
    auto& s = stripes_[h % stripe_count];
    std::lock_guard lk(s.m);
    if (auto* found = s.map.find(h, id)) return *found;
    auto a = create(std::string(id));
    s.map.insert(h, std::string_view(a->id()), a);
    return a;
  }

  /// Queues `e` on id's activation (created when absent) without taking a reference to it: the
  /// stripe lock keeps the activation in the table while queueing, and once scheduled it cannot
  /// be retired until it has run. (Lock order: stripe, then activation, as in retire_where.)
  [[gnu::noinline]] activation_base::push_result push_to(std::string_view id, envelope_base* e, std::size_t capacity) {
    auto const h = hash_id(id);
    auto& s = stripes_[h % stripe_count];
    activation_base* a;
    bool schedule = false;
    activation_base::push_result r;
    {
      std::lock_guard lk(s.m);
      auto* found = s.map.find(h, id);
      if (found) {
        a = found->get();
      } else {
        auto created = create(std::string(id));
        a = created.get();
        s.map.insert(h, std::string_view(a->id()), std::move(created));
      }
      r = a->enqueue(e, capacity, schedule);
    }
    if (schedule) a->submit();  // outside the stripe lock: a wake-up may take a mutex
    return r;
  }

  std::size_t size() const override {
    std::size_t n = 0;
    for (auto& s : stripes_) {
      std::lock_guard lk(s.m);
      n += s.map.size();
    }
    return n;
  }

  std::size_t queued() const override {
    std::size_t n = 0;
    for (auto& s : stripes_) {
      std::lock_guard lk(s.m);
      s.map.for_each([&](std::string_view, std::shared_ptr<activation_base> const& a) { n += a->queued(); });
    }
    return n;
  }

  std::size_t reap_idle(clock::time_point cutoff) override {
    return retire_where(cutoff, [](std::string_view) { return true; });
  }

  std::size_t deactivate_where(std::function<bool(std::string_view)> const& pred) override {
    return retire_where(clock::time_point::max(), pred);
  }

  std::size_t hand_off_where(std::function<bool(std::string_view)> const& pred,
                             std::function<void(std::string_view, std::string&&)> const& sink) override {
    return retire_where(clock::time_point::max(), pred, &sink);
  }

  /// The new activation is created claimed, under the stripe lock: a call that arrives meanwhile
  /// queues behind the installation and runs on the handed-off state.
  [[gnu::noinline]] result<bool> install_handed_off(std::string_view id, std::string_view bytes) override {
    auto const h = hash_id(id);
    auto& s = stripes_[h % stripe_count];
    std::shared_ptr<activation_base> a;
    {
      std::lock_guard lk(s.m);
      if (s.map.find(h, id)) return false;
      a = create(std::string(id));
      a->try_claim_idle();  // fresh: always succeeds
      s.map.insert(h, std::string_view(a->id()), a);
    }
    auto ok = a->install_state(nullptr, bytes);
    a->release_claim();  // runs what queued meanwhile (on a fresh instance if the install failed)
    if (!ok) return std::move(ok).error();
    return true;
  }

  [[gnu::noinline]] void shutdown() override {
    for (auto& s : stripes_) {
      map_type taken;
      {
        std::lock_guard lk(s.m);
        taken.swap(s.map);
      }
      taken.for_each([](std::string_view, std::shared_ptr<activation_base> const& a) {
        a->fail_all(fail(errc::shutting_down, "node is shutting down"));
        a->deactivate();
      });
    }
  }

  void fail_pending(error const& e) override {
    for (auto& s : stripes_) {
      std::vector<std::shared_ptr<activation_base>> all;
      {
        std::lock_guard lk(s.m);
        s.map.for_each([&](std::string_view, std::shared_ptr<activation_base> const& a) { all.push_back(a); });
      }
      for (auto& a : all) a->fail_all(e);
    }
  }

 protected:
  virtual std::shared_ptr<activation_base> create(std::string id) = 0;

 private:
  std::size_t retire_where(clock::time_point cutoff, std::function<bool(std::string_view)> const& pred,
                           std::function<void(std::string_view, std::string&&)> const* sink = nullptr) {
    std::size_t n = 0;
    for (auto& s : stripes_) {
      std::vector<std::shared_ptr<activation_base>> retired;
      {
        std::lock_guard lk(s.m);
        s.map.erase_if([&](std::string_view id, std::shared_ptr<activation_base>& a) {
          if (!pred(id) || !a->try_retire(cutoff)) return false;
          retired.push_back(std::move(a));
          return true;
        });
      }
      // Retired activations are dead and idle: nobody else touches their instance now.
      for (auto& a : retired) {
        if (sink)
          if (auto bytes = a->state_bytes()) (*sink)(a->id(), std::move(*bytes));
        a->deactivate();
      }
      n += retired.size();
    }
    return n;
  }

  /// A fast hash for ids (usually a few bytes): 8 bytes per step, then a murmur3 finalizer so the
  /// low bits (the stripe) depend on every byte.
  static std::size_t hash_id(std::string_view id) noexcept {
    auto const* p = reinterpret_cast<unsigned char const*>(id.data());
    std::size_t const n = id.size();
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t k;
      std::memcpy(&k, p + i, 8);
      h = (h ^ k) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    }
    if (i < n) {
      std::uint64_t k = 0;
      for (unsigned sh = 0; i < n; ++i, sh += 8) k |= std::uint64_t{p[i]} << sh;
      h = (h ^ k) * 0xff51afd7ed558ccdULL;
    }
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return static_cast<std::size_t>(h);
  }

  static constexpr std::size_t stripe_count = std::size_t{1} << id_map<int>::skip_bits;  // 64
  using map_type = id_map<std::shared_ptr<activation_base>>;
  struct stripe {
    mutable spinlock m;  // held for one hash lookup on the hot path (a scan only when reaping)
    map_type map;
  };
  node_core& core_;
  std::array<stripe, stripe_count> stripes_;
};

inline node_core& activation_base::core() const noexcept { return table_.core(); }
inline std::string_view activation_base::actor_name() const noexcept { return table_.actor_name(); }
// No reference for the run queue: a scheduled activation cannot be retired (try_retire), so its
// table keeps it alive until run() clears scheduled_, and the node stops the pool before it
// destroys the tables.
inline void activation_base::submit() { core().pool().submit(this); }

template <class A>
class actor_table final : public actor_table_base {
 public:
  using actor_table_base::actor_table_base;

  std::string_view actor_name() const noexcept override { return actor_name_v<A>; }
  std::string_view capability() const noexcept override { return A::capability::name; }
  bool has_state() const noexcept override { return has_state_member<A>; }

  void deliver_remote(wire::frame&& f, frame_callback respond) override;

 private:
  std::shared_ptr<activation_base> create(std::string id) override {
    return std::make_shared<activation<A>>(*this, std::move(id));
  }
};

}  // namespace mesh::detail
