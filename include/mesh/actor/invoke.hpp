#pragma once
/// The typed request paths shared by mesh::node and mesh::context: route, then either run on a
/// local activation (payload moved, never serialized) or encode and send to the owner node.

#include <mesh/actor/activation.hpp>
#include <mesh/actor/future.hpp>
#include <mesh/wire/check_serializable.hpp>
#include <mesh/wire/error_frame.hpp>
#include <mesh/wire/frame.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mesh::detail {

// Compile cost shapes this file. A schema of N actors x M messages would instantiate typed
// request paths N*M times, so the paths and envelopes are templates of the reply type (R) only
// and marked noinline; the actor comes in as data (actor_ops, one constant per actor type) and
// the message too (message_ops: tiny thunks that run the handler, move, construct, destroy and
// (de)serialize the payload). docs/architecture.md, "What the compiler generates", has the map.

template <class R>
using call_result = result<reply<R>>;
template <class R>
using state_ptr = std::shared_ptr<call_state<call_result<R>>>;
template <class A, class M>
using call_result_t = call_result<reply_t<A, M>>;

inline clock::time_point deadline_for(node_core const& core, std::chrono::milliseconds timeout) {
  auto const t = timeout.count() > 0 ? timeout : core.config().call_timeout;
  return now_within(t / 256) + t;  // a deadline at most 0.4% late: the coarse clock when its tick fits
}

// ---- per reply type ---------------------------------------------------------------------------

/// Where a handler's return value lands before it becomes a reply.
template <class R>
struct value_slot {
  std::optional<R> v;
};
template <>
struct value_slot<void> {};

template <class R>
[[gnu::noinline]] state_ptr<R> new_call_state(clock::time_point deadline) {
  return std::make_shared<call_state<call_result<R>>>(deadline);
}

template <class R>
[[gnu::noinline]] call_result<R> await_call(state_ptr<R> const& s, std::string_view actor, std::string_view id) {
  return s->take(actor, id);
}

template <class R>
[[gnu::noinline]] void complete_error(call_state<call_result<R>>& s, error&& e) {
  s.complete(std::move(e));
}

template <class R>
[[gnu::noinline]] call_result<R> make_reply(value_slot<R>& slot, actor_ref&& ref) {
  if constexpr (std::is_void_v<R>) return reply<void>{std::move(ref)};
  else return reply<R>{std::move(*slot.v), std::move(ref)};
}

/// Completes `s` with the reply, built in place in the state: the ref's strings are constructed
/// once, where the caller will read them (no temporary reply or result to move from).
template <class R>
[[gnu::noinline]] void complete_reply(call_state<call_result<R>>& s, value_slot<R>& slot, activation_base const& act) {
  s.complete_with([&] {
    if constexpr (std::is_void_v<R>) return reply<void>{act.ref()};
    else return reply<R>{std::move(*slot.v), act.ref()};
  });
}

/// Appends the msgpack body of a remote reply to `out` (void handlers answer nil); `slot` is a
/// value_slot<R>.
template <class R>
void encode_reply(std::string& out, void* slot) {
  if constexpr (std::is_void_v<R>) wire::encode_to(out, msgpack::type::nil_t{});
  else wire::encode_to(out, *static_cast<value_slot<R>*>(slot)->v);
}

// ---- per (actor, message): the thunks ----------------------------------------------------------

/// Runs the handler for the message at `msg` on `self` (an instance of the actor type) and stores
/// its return value in `slot` (a value_slot of the message's reply type).
using invoke_fn = void (*)(void* msg, void* self, context& ctx, void* slot);

template <class A, class M>
void invoke_into(void* msg, void* self, context& ctx, void* slot) {
  auto& a = *static_cast<A*>(self);
  auto& m = *static_cast<M*>(msg);
  if constexpr (std::is_void_v<reply_t<A, M>>) invoke_handler(a, m, ctx);
  else static_cast<value_slot<reply_t<A, M>>*>(slot)->v.emplace(invoke_handler(a, m, ctx));
}

/// The payload of an envelope lives in the same allocation, right after it: envelopes are then
/// one class per reply type instead of one per message type (no per-message vtables or
/// destructors), and a message still costs one allocation. The payload's type is known only
/// through these thunks and its size and alignment (message_ops).
template <class M>
void destroy_payload(void* msg) noexcept {
  static_cast<M*>(msg)->~M();
}
template <class M>
void move_payload(void* dst, void* src) {
  new (dst) M(std::move(*static_cast<M*>(src)));
}
template <class M>
void default_payload(void* dst, void*) {
  new (dst) M();
}
template <class M>
void encode_erased(std::string& out, void const* msg) {
  wire::encode_to(out, *static_cast<M const*>(msg));
}

/// What the request paths need to know about one (actor, message) pair, as data.
template <class R>
struct message_ops {
  invoke_fn invoke;
  void (*encode)(std::string& out, void const* msg);
  wire::detail::decode_fn decode;
  std::uint32_t index;
  void (*move_into)(void* dst, void* src);     // move-constructs the payload at dst from src
  void (*make_default)(void* dst, void* src);  // default-constructs one at dst (src unused)
  void (*destroy)(void*) noexcept;
  std::size_t size, align;
};

template <class A, class M>
inline constexpr message_ops<reply_t<A, M>> ops_v{&invoke_into<A, M>,
                                                 &encode_erased<M>,
                                                 &wire::detail::decode_erased_into<M>,
                                                 static_cast<std::uint32_t>(message_index_v<A, M>),
                                                 &move_payload<M>,
                                                 &default_payload<M>,
                                                 &destroy_payload<M>,
                                                 sizeof(M),
                                                 alignof(M)};

// ---- per actor type: the actor as data ---------------------------------------------------------

/// The table of actor type A on this node (null when A is not in the node's schema).
template <class A>
actor_table_base* table_of(node_core& core) noexcept {
  return static_cast<actor_table_base*>(core.find_table<A>());
}

/// An invoke_fn with its arguments, run through activation::run_with.
struct invocation {
  invoke_fn fn;
  void* msg;
  void* slot;
};
template <class A>
void run_invocation(void* data, A& self, context& ctx) {
  auto const& i = *static_cast<invocation const*>(data);
  i.fn(i.msg, &self, ctx, i.slot);
}
/// Runs `fn` on a claimed activation of A (constructing the instance with `init` if needed).
template <class A>
result<void> run_claimed(activation_base& act, void const* init, invoke_fn fn, void* msg, void* slot) {
  invocation inv{fn, msg, slot};
  return static_cast<activation<A>&>(act).run_with(static_cast<init_arg_t<A> const*>(init), &run_invocation<A>, &inv);
}

/// A's init argument on the heap: moved from `src`, or default-constructed (to decode into).
template <class A>
void* new_init(void* src) {
  using I = init_arg_t<A>;
  return src ? new I(std::move(*static_cast<I*>(src))) : new I();
}
template <class A>
void delete_init(void* p) noexcept {
  delete static_cast<init_arg_t<A>*>(p);
}

/// What the request paths need to know about an actor type, as data: they are written once per
/// reply type (R) and take the actor and the message as data, so a schema of N actors x M
/// messages adds only the small thunks above per message and these per actor.
struct actor_ops {
  std::string_view name;
  std::string_view capability;
  actor_table_base* (*table)(node_core& core) noexcept;
  result<void> (*run)(activation_base& act, void const* init, invoke_fn fn, void* msg, void* slot);
  void* (*new_init)(void* src);
  void (*delete_init)(void*) noexcept;
  void (*encode_init)(std::string& out, void const* init);
  wire::detail::decode_fn decode_init;
};

template <class A>
inline constexpr actor_ops actor_ops_v{actor_name_v<A>,
                                       A::capability::name,
                                       &table_of<A>,
                                       &run_claimed<A>,
                                       &new_init<A>,
                                       &delete_init<A>,
                                       &encode_erased<init_arg_t<A>>,
                                       &wire::detail::decode_erased_into<init_arg_t<A>>};

// ---- envelopes: one type per reply type --------------------------------------------------------

/// The payload and init argument of an envelope: where they are and how to destroy them.
struct payload_slot {
  void* msg = nullptr;
  void (*destroy_msg)(void*) noexcept = nullptr;
  std::size_t heap_align = 0;  // non-zero: an over-aligned payload in its own allocation
  void* init_arg = nullptr;    // the actor's init_arg_t, on the heap (rare: first calls only)
  void (*delete_init)(void*) noexcept = nullptr;

  payload_slot() = default;
  payload_slot(payload_slot const&) = delete;
  payload_slot& operator=(payload_slot const&) = delete;
  ~payload_slot() {
    if (init_arg) delete_init(init_arg);
    if (!destroy_msg) return;
    destroy_msg(msg);
    if (heap_align) ::operator delete(msg, std::align_val_t(heap_align));
  }
  void set_init(actor_ops const& a, void* src) {
    init_arg = a.new_init(src);
    delete_init = a.delete_init;
  }
};

/// Allocates an envelope E followed by its payload, which `make(dst, src)` constructs (moves the
/// caller's message, or default-constructs one to decode into). An over-aligned payload gets an
/// allocation of its own. One copy per envelope type, not per message type.
template <class E, class R>
[[gnu::noinline]] E* new_envelope(message_ops<R> const& ops, void (*make)(void* dst, void* src), void* src) {
  E* e;
  if (ops.align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    std::size_t const off = (sizeof(E) + ops.align - 1) / ops.align * ops.align;
    void* mem = ::operator new(off + ops.size);
    e = new (mem) E();
    try {
      make(static_cast<char*>(mem) + off, src);
    } catch (...) {
      delete e;
      throw;
    }
    e->msg = static_cast<char*>(mem) + off;
  } else {
    std::unique_ptr<E> owner(new E());
    void* m = ::operator new(ops.size, std::align_val_t(ops.align));
    try {
      make(m, src);
    } catch (...) {
      ::operator delete(m, std::align_val_t(ops.align));
      throw;
    }
    e = owner.release();
    e->msg = m;
    e->heap_align = ops.align;
  }
  e->destroy_msg = ops.destroy;
  e->invoke = ops.invoke;
  return e;
}

/// A local message: the typed payload moved in (never serialized), completed through a
/// call_state (none for casts).
template <class R>
struct local_envelope : envelope_base, payload_slot {
  call_state<call_result<R>>* state = nullptr;  // in the same block (local_call), or none (cast)
  invoke_fn invoke = nullptr;

  void const* init() const noexcept override { return init_arg; }
  bool abandoned() const noexcept override { return state && state->completed(); }
  void deliver(void* self, context& ctx, activation_base& act) override {
    value_slot<R> slot;
    invoke(msg, self, ctx, &slot);
    if (state) complete_reply<R>(*state, slot, act);
  }
  void fail(error e) override {
    if (state) complete_error<R>(*state, std::move(e));
  }
};

/// A queued local call: envelope, call state and payload in one allocation (see new_local_call).
/// The caller's future holds the state (an aliasing shared_ptr), the mailbox holds `self` until
/// dispose(); the block is freed when both are done.
template <class R>
struct local_call final : local_envelope<R> {
  call_state<call_result<R>> call;
  std::shared_ptr<local_call> self;

  explicit local_call(clock::time_point until) : call(until) {
    this->state = &call;
    this->deadline = until;
  }
  void dispose() noexcept override { auto last = std::move(self); }  // may destroy *this
};

/// Allocator for allocate_shared that appends `extra` bytes (aligned to `align`) to the block and
/// reports where they start: the payload of a local call lives there.
template <class T>
struct tail_allocator {
  using value_type = T;
  std::size_t extra, align;
  void** tail;
  tail_allocator(std::size_t e, std::size_t a, void** t) noexcept : extra(e), align(a), tail(t) {}
  template <class U>
  tail_allocator(tail_allocator<U> const& o) noexcept : extra(o.extra), align(o.align), tail(o.tail) {}
  // The block is aligned for both T and the payload; the aligned operator new (slower) only for
  // over-aligned payloads.
  bool over_aligned() const noexcept {
    return align > __STDCPP_DEFAULT_NEW_ALIGNMENT__ || alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  }
  std::align_val_t block_align() const noexcept { return std::align_val_t(align > alignof(T) ? align : alignof(T)); }
  T* allocate(std::size_t n) {
    std::size_t const off = (n * sizeof(T) + align - 1) / align * align;
    void* p = over_aligned() ? ::operator new(off + extra, block_align()) : ::operator new(off + extra);
    *tail = static_cast<char*>(p) + off;
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept {
    if (over_aligned()) ::operator delete(p, block_align());
    else ::operator delete(p);
  }
  template <class U>
  bool operator==(tail_allocator<U> const&) const noexcept { return true; }
};

/// The untyped part of a request from a peer: its payload, how to answer it, and its id.
struct remote_request : payload_slot {
  frame_callback respond;  // empty for casts
  std::uint64_t request_id = 0;
};

/// A request from a peer: the payload decoded in place, answered through `respond`.
template <class R>
struct remote_envelope final : envelope_base, remote_request {
  invoke_fn invoke = nullptr;

  void const* init() const noexcept override { return init_arg; }
  void deliver(void* self, context& ctx, activation_base& act) override;
  void fail(error e) override;
};

// ---- the request paths: one copy per reply type ------------------------------------------------

/// Queues an envelope on id's activation, retrying when that was retired concurrently. On
/// success the mailbox owns the envelope; on failure it stays with the caller. Not a template.
[[gnu::noinline]] inline result<void> push_envelope(node_core& core, actor_table_base* table, std::string_view actor,
                                                    std::string_view id, envelope_ptr& e) {
  if (!table) return not_in_schema(actor);
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (core.stopping()) break;
    switch (table->push_to(id, e.get(), core.config().mailbox_capacity)) {
      case activation_base::push_result::ok: e.release(); return {};
      case activation_base::push_result::full: return mailbox_full(actor, id, core.config().mailbox_capacity);
      case activation_base::push_result::dead: continue;  // retired meanwhile: look up again
    }
  }
  return shutting_down(core.name());
}

/// The activation for id when it is idle and now claimed by the caller (else null).
[[gnu::noinline]] inline std::shared_ptr<activation_base> claim_idle(actor_table_base* table, std::string_view id) {
  if (!table) return nullptr;
  auto act = table->get_or_create_base(id);
  if (!act->try_claim_idle()) return nullptr;
  return act;
}

/// This thread's spare buffer for encoding an outgoing body (a request's payload, a reply). The
/// transport sends a frame at once unless its sockets are busy, and then leaves the frame's bytes
/// where they were: they come back here, so that encoding allocates nothing once the buffer has
/// grown. A frame that had to be queued took its buffer along (the next one starts a new one).
inline std::string& spare_body() noexcept {
  thread_local std::string s;
  return s;
}

/// Appends a body part to `f` that starts out as the spare buffer, empty.
inline std::string& body_from_spare(wire::frame& f) {
  auto& b = f.body.emplace_back();
  b.swap(spare_body());
  b.clear();
  return b;
}

/// Takes the first body part of a frame the transport has sent back as the spare buffer (unless
/// it was moved away, or is too large to keep around).
inline void return_body(wire::frame& f) noexcept {
  if (f.body.empty()) return;
  auto& b = f.body[0];
  if (b.capacity() > spare_body().capacity() && b.capacity() <= 64 * 1024) spare_body().swap(b);
}

/// The call/cast frame for a remote owner (not a template: shared by every actor and message type).
[[gnu::noinline]] inline wire::frame make_request_frame(node_core const& core, actor_ops const& a, wire::kind k,
                                                        std::string_view id, void const* msg,
                                                        void (*encode)(std::string&, void const*), std::uint32_t index,
                                                        void const* init, clock::time_point deadline) {
  wire::frame f;
  f.h.k = k;
  f.h.fingerprint = core.fingerprint();
  f.h.actor = std::string(a.name);
  f.h.id = std::string(id);
  f.h.message_index = index;
  if (k == wire::kind::call) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    f.h.timeout_ms = static_cast<std::uint32_t>(std::clamp<long long>(left, 1, 0xffffffffLL));
  }
  f.h.has_init = init != nullptr;
  encode(body_from_spare(f), msg);
  if (init) a.encode_init(f.body.emplace_back(), init);
  return f;
}

/// Turns a reply or error frame from a peer into the typed call result (one copy per reply type).
template <class R>
result<reply<R>> read_reply(wire::frame&& f, std::string_view actor, std::string_view id, std::size_t max_payload) {
  if (f.h.k == wire::kind::error) return error{f.h.code, std::move(f.h.text)};
  if (f.h.k != wire::kind::reply || f.body.size() != 1) return fail(errc::bad_message, "peer answered with an unexpected frame");
  actor_ref ref{std::move(f.h.node), std::string(actor), std::string(id)};
  if constexpr (std::is_void_v<R>) {
    return reply<void>{std::move(ref)};
  } else {
    wire::limits lim;
    lim.max_payload_bytes = max_payload;
    R v{};
    if (auto ok = wire::decode_body_into(f.body[0], v, lim); !ok) return std::move(ok).error();  // validated by the frame decode
    return reply<R>{std::move(v), std::move(ref)};
  }
}

/// Sends an encoded call and completes `state` with the reply (one copy per reply type).
template <class R>
[[gnu::noinline]] void send_call_frame(node_core& core, std::string const& owner, std::string_view actor, wire::frame&& f,
                                       clock::time_point deadline, state_ptr<R> state) {
  auto const max_payload = core.config().max_payload_bytes;
  // The reply frame names only the node; the ref's actor (a static name) and id come from the request.
  std::string id = f.h.id;
  core.send_remote(owner, std::move(f), deadline,
                   [state = std::move(state), max_payload, actor, id = std::move(id)](wire::frame&& r) mutable {
                     auto make = [&] { return read_reply<R>(std::move(r), actor, id, max_payload); };
                     auto* const later = publish_later();
                     if (!later) {
                       state->complete_with(make);
                       return;
                     }
                     // Room first: once stored, the call must be published (a bad_alloc here
                     // leaves it unclaimed, to time out at its deadline).
                     if (later->size() == later->capacity()) later->reserve(later->size() * 2 + 16);
                     if (state->store_with(make))
                       later->push_back({std::move(state), [](void* s) {
                                           static_cast<call_state<call_result<R>>*>(s)->publish_stored();
                                         }});
                   });
  return_body(f);
}

/// Creates a queued local call: envelope, call state and payload in one allocation. Returns the
/// state the caller waits on.
template <class R>
[[gnu::noinline]] std::pair<state_ptr<R>, local_envelope<R>*> new_local_call(void* msg, message_ops<R> const& ops,
                                                                          clock::time_point deadline) {
  void* tail = nullptr;
  auto c = std::allocate_shared<local_call<R>>(tail_allocator<local_call<R>>(ops.size, ops.align, &tail), deadline);
  ops.move_into(tail, msg);  // if it throws, c frees the block (no payload to destroy yet)
  c->msg = tail;
  c->destroy_msg = ops.destroy;
  c->invoke = ops.invoke;
  state_ptr<R> st(c, &c->call);
  auto* e = c.get();
  e->self = std::move(c);
  return {std::move(st), e};
}

/// Queues a local call: the state to wait on, or the error.
template <class R>
[[gnu::noinline]] result<state_ptr<R>> push_local_call(node_core& core, actor_ops const& a, std::string_view id, void* msg,
                                                       message_ops<R> const& ops, void* init, clock::time_point deadline) {
  auto [state, e] = new_local_call<R>(msg, ops, deadline);
  envelope_ptr owner(e);
  if (init) e->set_init(a, init);
  if (auto ok = push_envelope(core, a.table(core), a.name, id, owner); !ok) return std::move(ok).error();
  return std::move(state);
}

/// Synchronous call: inline on an idle local activation, else queued (local) or sent (remote).
template <class R>
[[gnu::noinline]] call_result<R> call_erased(node_core& core, actor_ops const& a, std::string_view id, void* msg,
                                             message_ops<R> const& ops, void* init, std::chrono::milliseconds timeout) {
  if (core.stopping()) return shutting_down(core.name());
  auto const deadline = deadline_for(core, timeout);
  auto rt = core.route_for(a.capability, id);
  if (!rt) return std::move(rt).error();
  state_ptr<R> state;
  if (rt->local) {
    // Fast path: an idle activation runs the handler right here, with no queue and no thread hop.
    if (auto claimed = claim_idle(a.table(core), id)) {
      value_slot<R> slot;
      auto r = a.run(*claimed, init, ops.invoke, msg, &slot);
      claimed->release_claim();
      if (!r) return std::move(r).error();
      return make_reply<R>(slot, claimed->ref());
    }
    auto queued = push_local_call<R>(core, a, id, msg, ops, init, deadline);
    if (!queued) return std::move(queued).error();
    state = std::move(*queued);
  } else {
    state = new_call_state<R>(deadline);
    // A worker helps with queued work while it waits; any other thread may read the reply itself.
    if (!current_wait_helper()) state->read_by(core.reader());
    send_call_frame<R>(core, rt->node, a.name,
                       make_request_frame(core, a, wire::kind::call, id, msg, ops.encode, ops.index, init, deadline),
                       deadline, state);
  }
  return await_call<R>(state, a.name, id);
}

/// Asynchronous call: always queued or sent; the future completes on reply, error or deadline.
template <class R>
[[gnu::noinline]] future<R> call_async_erased(node_core& core, actor_ops const& a, std::string_view id, void* msg,
                                              message_ops<R> const& ops, void* init, std::chrono::milliseconds timeout) {
  auto const deadline = deadline_for(core, timeout);
  auto rt = core.stopping() ? result<route>(shutting_down(core.name())) : core.route_for(a.capability, id);
  state_ptr<R> state;
  if (rt && rt->local) {
    auto queued = push_local_call<R>(core, a, id, msg, ops, init, deadline);
    if (queued) {
      state = std::move(*queued);
    } else {
      state = new_call_state<R>(deadline);
      complete_error<R>(*state, std::move(queued).error());
    }
  } else {
    state = new_call_state<R>(deadline);
    state->read_by(core.reader(), true);  // whoever waits for it may read the reply itself (see take)
    if (!rt) complete_error<R>(*state, std::move(rt).error());
    else
      send_call_frame<R>(core, rt->node, a.name,
                         make_request_frame(core, a, wire::kind::call, id, msg, ops.encode, ops.index, init, deadline),
                         deadline, state);
  }
  return future<R>(std::move(state), std::weak_ptr<deadline_scheduler>(core.timer()));
}

/// Cast: returns once the message is queued locally or handed to the transport.
template <class R>
[[gnu::noinline]] result<void> cast_erased(node_core& core, actor_ops const& a, std::string_view id, void* msg,
                                           message_ops<R> const& ops, void* init) {
  if (core.stopping()) return shutting_down(core.name());
  auto rt = core.route_for(a.capability, id);
  if (!rt) return std::move(rt).error();
  if (rt->local) {
    envelope_ptr owner(new_envelope<local_envelope<R>>(ops, ops.move_into, msg));
    if (init) static_cast<local_envelope<R>*>(owner.get())->set_init(a, init);
    return push_envelope(core, a.table(core), a.name, id, owner);
  }
  auto f = make_request_frame(core, a, wire::kind::cast, id, msg, ops.encode, ops.index, init, clock::time_point::max());
  // Routed means handed to the I/O thread: a later send failure (peer gone, queue full) reaches
  // no caller, so the transport counts it (transport_stats().send_failures) instead.
  core.send_remote(rt->node, std::move(f), clock::now() + core.config().call_timeout, [](wire::frame&&) {});
  return_body(f);
  return {};
}

/// The payload as an M rvalue: the caller's own object when it passed an M rvalue (no copy, no
/// extra temporary at every call site), else an M converted or copied from what it passed.
template <class M, class Message>
decltype(auto) payload_of(Message&& msg) {
  if constexpr (std::is_same_v<Message, M>) return static_cast<M&&>(msg);
  else return M(std::forward<Message>(msg));
}

template <class I>
void* init_ptr(std::optional<I>& init) noexcept {
  return init ? static_cast<void*>(&*init) : nullptr;
}

template <class A, class M>
call_result_t<A, M> call(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                         std::chrono::milliseconds timeout) {
  return call_erased<reply_t<A, M>>(core, actor_ops_v<A>, id, &msg, ops_v<A, M>, init_ptr(init), timeout);
}

template <class A, class M>
future<reply_t<A, M>> call_async(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                                 std::chrono::milliseconds timeout) {
  return call_async_erased<reply_t<A, M>>(core, actor_ops_v<A>, id, &msg, ops_v<A, M>, init_ptr(init), timeout);
}

template <class A, class M>
result<void> cast(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init) {
  return cast_erased<reply_t<A, M>>(core, actor_ops_v<A>, id, &msg, ops_v<A, M>, init_ptr(init));
}

// ---- receiving side: a request frame from a peer, dispatched by message index ----------------

/// Answers a peer's request (not a template: shared by every type).
[[gnu::noinline]] inline void respond_reply(frame_callback const& respond, std::uint64_t request_id,
                                            std::string const& node, void (*encode)(std::string&, void*), void* slot) {
  wire::frame f;
  f.h.k = wire::kind::reply;
  f.h.request_id = request_id;
  f.h.node = node;
  encode(body_from_spare(f), slot);
  respond(std::move(f));
  return_body(f);
}

[[gnu::noinline]] inline void respond_error(frame_callback const& respond, std::uint64_t request_id,
                                            error e) {
  if (respond) respond(wire::error_frame(request_id, e.code, std::move(e.message)));
}

template <class R>
void remote_envelope<R>::deliver(void* self, context& ctx, activation_base& act) {
  value_slot<R> slot;
  invoke(msg, self, ctx, &slot);
  if (respond) respond_reply(respond, request_id, act.core().name(), &encode_reply<R>, &slot);
}

template <class R>
void remote_envelope<R>::fail(error e) {
  respond_error(respond, request_id, std::move(e));
}

[[gnu::cold, gnu::noinline]] inline error undecodable(char const* what, std::size_t index, std::string_view actor,
                                                      error const& why) {
  return fail(errc::bad_message, std::string(what) + " of message #" + std::to_string(index) + " for actor '" +
                                     std::string(actor) + "': " + why.message);
}

/// Reads a peer's request frame into a fresh envelope: responder, id, payload, init argument and
/// deadline. An error means the request is malformed (not a template: shared by every type).
[[gnu::noinline]] inline result<void> read_request(node_core& core, actor_ops const& a, wire::frame& f,
                                                   frame_callback&& respond, envelope_base& e,
                                                   remote_request& r, wire::detail::decode_fn decode) {
  r.request_id = f.h.request_id;
  if (f.h.k == wire::kind::call) r.respond = std::move(respond);
  wire::limits lim;
  lim.max_payload_bytes = core.config().max_payload_bytes;
  if (auto ok = decode(f.body[0], lim, r.msg); !ok)
    return undecodable("payload", f.h.message_index, a.name, ok.error());
  if (f.h.has_init) {
    if (f.body.size() < 2) return fail(errc::bad_message, "frame announces an init argument but has none");
    r.set_init(a, nullptr);
    if (auto ok = a.decode_init(f.body[1], lim, r.init_arg); !ok)
      return undecodable("init argument", f.h.message_index, a.name, ok.error());
  }
  if (r.respond)
    e.deadline = clock::now() + std::chrono::milliseconds(f.h.timeout_ms ? f.h.timeout_ms : core.config().call_timeout.count());
  return {};
}

/// Decodes a peer's request into a fresh envelope and queues it (one copy per reply type;
/// `erased_ops` is the message's message_ops<R>).
template <class R>
void dispatch_remote(actor_table_base& table, actor_ops const& a, wire::frame&& f,
                     frame_callback&& respond, void const* erased_ops) {
  auto const& ops = *static_cast<message_ops<R> const*>(erased_ops);
  node_core& core = table.core();
  auto* e = new_envelope<remote_envelope<R>>(ops, ops.make_default, nullptr);
  envelope_ptr owner(e);
  auto ok = read_request(core, a, f, std::move(respond), *e, *e, ops.decode);
  if (ok) ok = push_envelope(core, &table, a.name, f.h.id, owner);
  if (!ok) e->fail(std::move(ok).error());
}

/// Answers a request for a message index the actor does not have.
[[gnu::cold, gnu::noinline]] inline void reject_message_index(wire::frame const& f,
                                                              frame_callback const& respond,
                                                              std::string_view actor) {
  if (f.h.k == wire::kind::call && respond)
    respond(wire::error_frame(f.h.request_id, errc::bad_message,
                        "actor '" + std::string(actor) + "' has no message #" + std::to_string(f.h.message_index)));
}

template <class A>
void actor_table<A>::deliver_remote(wire::frame&& f, frame_callback respond) {
  // One (dispatcher, ops) pair per message index: the dispatcher is per reply type, so the table
  // adds no function per message.
  struct handler {
    void (*dispatch)(actor_table_base&, actor_ops const&, wire::frame&&, frame_callback&&, void const*);
    void const* ops;
  };
  static constexpr auto handlers = []<class... Ms>(list<Ms...>*) {
    return std::array<handler, sizeof...(Ms)>{handler{&dispatch_remote<reply_t<A, Ms>>, &ops_v<A, Ms>}...};
  }(static_cast<typename A::messages*>(nullptr));
  if (f.h.message_index >= handlers.size()) return reject_message_index(f, respond, actor_name_v<A>);
  auto const& h = handlers[f.h.message_index];
  h.dispatch(*this, actor_ops_v<A>, std::move(f), std::move(respond), h.ops);
}

}  // namespace mesh::detail

namespace mesh {

namespace detail {
/// Checks a call of Actor with M from a handler: Actor accepts M, and Actor's types can travel
/// (a context knows no schema, so no node has checked Actor's types for this call).
template <class Actor, class M>
constexpr bool check_call() {
  if constexpr (!check_accepts<Actor, M>()) return false;
  else return wire::check_actor_serializable<Actor>();
}
}  // namespace detail

inline std::string_view context::node_name() const noexcept { return core_->name(); }

template <class Actor, class Message>
result<reply<reply_t<Actor, std::remove_cvref_t<Message>>>> context::call(std::string_view id, Message&& msg,
                                                                          std::chrono::milliseconds timeout) {
  using M = std::remove_cvref_t<Message>;
  if constexpr (!detail::check_call<Actor, M>()) {
    return fail(errc::type_mismatch, "unreachable");
  } else {
    return detail::call<Actor, M>(*core_, id, detail::payload_of<M>(std::forward<Message>(msg)), std::nullopt, timeout);
  }
}

template <class Actor, class Message>
result<void> context::cast(std::string_view id, Message&& msg) {
  using M = std::remove_cvref_t<Message>;
  if constexpr (!detail::check_call<Actor, M>()) {
    return fail(errc::type_mismatch, "unreachable");
  } else {
    return detail::cast<Actor, M>(*core_, id, detail::payload_of<M>(std::forward<Message>(msg)), std::nullopt);
  }
}

template <class Actor, class Message>
future<reply_t<Actor, std::remove_cvref_t<Message>>> context::call_async(std::string_view id, Message&& msg,
                                                                        std::chrono::milliseconds timeout) {
  using M = std::remove_cvref_t<Message>;
  if constexpr (!detail::check_call<Actor, M>()) {
    return {};
  } else {
    return detail::call_async<Actor, M>(*core_, id, detail::payload_of<M>(std::forward<Message>(msg)), std::nullopt, timeout);
  }
}

}  // namespace mesh
