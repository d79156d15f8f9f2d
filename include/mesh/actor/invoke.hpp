#pragma once
/// The typed request paths shared by mesh::node and mesh::context: route, then either run on a
/// local activation (payload moved, never serialized) or encode and send to the owner node.

#include <mesh/actor/activation.hpp>
#include <mesh/actor/future.hpp>
#include <mesh/wire/frame.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mesh::detail {

// Compile cost shapes this file. A schema of N actors x M messages instantiates the request paths
// N*M times, so everything that does not need the message type is written once per actor type
// (A) or per reply type (R) and marked noinline; each (actor, message) pair contributes only tiny
// thunks: run the handler, move the payload into an envelope, (de)serialize it.

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

/// msgpack body of a remote reply (void handlers answer nil).
template <class R>
[[gnu::noinline]] std::string encode_reply(value_slot<R>& slot) {
  if constexpr (std::is_void_v<R>) return wire::encode(msgpack::type::nil_t{});
  else return wire::encode(*slot.v);
}

// ---- per (actor, message): the thunks ----------------------------------------------------------

/// Runs A's handler for the M at `msg` and stores its return value in `slot`.
template <class A, class R>
using invoke_fn = void (*)(void* msg, A& self, context& ctx, value_slot<R>& slot);

template <class A, class M>
void invoke_into(void* msg, A& self, context& ctx, value_slot<reply_t<A, M>>& slot) {
  auto& m = *static_cast<M*>(msg);
  if constexpr (std::is_void_v<reply_t<A, M>>) invoke_handler(self, m, ctx);
  else slot.v.emplace(invoke_handler(self, m, ctx));
}

/// The payload of an envelope lives in the same allocation, right after it: envelopes are then
/// one class per (actor, reply type) instead of one per message type (no per-message vtables or
/// destructors), and a message still costs one allocation.
template <class M>
void destroy_payload(void* msg) noexcept {
  static_cast<M*>(msg)->~M();
}
template <class M>
void delete_payload(void* msg) noexcept {
  delete static_cast<M*>(msg);
}

/// Storage for an envelope E followed by an M constructed from `args` (or M on the heap when it
/// is over-aligned). Returns the envelope with `msg` and `destroy_msg` set.
template <class E, class M, class... Args>
E* new_envelope(Args&&... args) {
  if constexpr (alignof(M) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    constexpr std::size_t off = (sizeof(E) + alignof(M) - 1) / alignof(M) * alignof(M);
    void* mem = ::operator new(off + sizeof(M));
    E* e = new (mem) E();
    try {
      e->msg = new (static_cast<char*>(mem) + off) M(std::forward<Args>(args)...);
    } catch (...) {
      delete e;
      throw;
    }
    e->destroy_msg = &destroy_payload<M>;
    return e;
  } else {
    auto m = std::make_unique<M>(std::forward<Args>(args)...);
    E* e = new E();
    e->msg = m.release();
    e->destroy_msg = &delete_payload<M>;
    return e;
  }
}

/// A local message: the typed payload moved in (never serialized), completed through a
/// call_state (none for casts).
template <class A, class R>
struct local_envelope : envelope<A> {
  std::optional<init_arg_t<A>> init_arg;
  call_state<call_result<R>>* state = nullptr;  // in the same block (local_call), or none (cast)
  void* msg = nullptr;
  void (*destroy_msg)(void*) noexcept = nullptr;
  invoke_fn<A, R> invoke = nullptr;

  ~local_envelope() override {
    if (destroy_msg) destroy_msg(msg);
  }
  init_arg_t<A> const* init() const noexcept override { return init_arg ? &*init_arg : nullptr; }
  bool abandoned() const noexcept override { return state && state->completed(); }
  void deliver(A& self, context& ctx, activation<A>& act) override {
    value_slot<R> slot;
    invoke(msg, self, ctx, slot);
    if (state) complete_reply<R>(*state, slot, act);
  }
  void fail(error e) override {
    if (state) complete_error<R>(*state, std::move(e));
  }
};

/// A queued local call: envelope, call state and payload in one allocation (see new_local_call).
/// The caller's future holds the state (an aliasing shared_ptr), the mailbox holds `self` until
/// dispose(); the block is freed when both are done.
template <class A, class R>
struct local_call final : local_envelope<A, R> {
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

/// A request from a peer: the payload decoded in place, answered through `respond`.
template <class A, class R>
struct remote_envelope final : envelope<A> {
  std::optional<init_arg_t<A>> init_arg;
  std::function<void(wire::frame&&)> respond;  // empty for casts
  std::uint64_t request_id = 0;
  void* msg = nullptr;
  void (*destroy_msg)(void*) noexcept = nullptr;
  invoke_fn<A, R> invoke = nullptr;

  ~remote_envelope() override {
    if (destroy_msg) destroy_msg(msg);
  }
  init_arg_t<A> const* init() const noexcept override { return init_arg ? &*init_arg : nullptr; }
  void deliver(A& self, context& ctx, activation<A>& act) override;
  void fail(error e) override;
};

/// What the request paths need to know about one (actor, message) pair, as data.
template <class A, class R>
struct message_ops {
  invoke_fn<A, R> invoke;
  local_envelope<A, R>* (*make_local)(void* msg);  // moves the payload into a new envelope (casts)
  void (*encode)(std::string& out, void const* msg);
  remote_envelope<A, R>* (*make_remote)();         // a default-constructed payload to decode into
  wire::detail::convert_fn decode;
  std::string_view type;
  std::uint32_t index;
  void (*move_into)(void* dst, void* src);  // move-constructs the payload at dst
  void (*destroy)(void*) noexcept;
  std::size_t size, align;
};

template <class M>
void move_payload(void* dst, void* src) {
  new (dst) M(std::move(*static_cast<M*>(src)));
}

template <class A, class M>
local_envelope<A, reply_t<A, M>>* make_local_envelope(void* msg) {
  auto* e = new_envelope<local_envelope<A, reply_t<A, M>>, M>(std::move(*static_cast<M*>(msg)));
  e->invoke = &invoke_into<A, M>;
  return e;
}
template <class A, class M>
remote_envelope<A, reply_t<A, M>>* make_remote_envelope() {
  auto* e = new_envelope<remote_envelope<A, reply_t<A, M>>, M>();
  e->invoke = &invoke_into<A, M>;
  return e;
}
template <class M>
void encode_erased(std::string& out, void const* msg) {
  wire::encode_to(out, *static_cast<M const*>(msg));
}

template <class A, class M>
inline constexpr message_ops<A, reply_t<A, M>> ops_v{&invoke_into<A, M>,
                                                    &make_local_envelope<A, M>,
                                                    &encode_erased<M>,
                                                    &make_remote_envelope<A, M>,
                                                    &wire::detail::convert_erased<M>,
                                                    wire::type_name<M>(),
                                                    static_cast<std::uint32_t>(message_index_v<A, M>),
                                                    &move_payload<M>,
                                                    &destroy_payload<M>,
                                                    sizeof(M),
                                                    alignof(M)};

// ---- per actor type ----------------------------------------------------------------------------

/// The table of actor type A on this node (null when A is not in the node's schema).
template <class A>
actor_table_base* table_of(node_core& core) noexcept {
  return static_cast<actor_table_base*>(core.find_table<A>());
}

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

/// The header of a call/cast frame (not a template: shared by every actor and message type).
[[gnu::noinline]] inline wire::frame request_frame(node_core const& core, wire::kind k, std::string_view actor,
                                                   std::string_view id, std::size_t index, bool has_init,
                                                   clock::time_point deadline) {
  wire::frame f;
  f.h.k = k;
  f.h.fingerprint = core.fingerprint();
  f.h.actor = std::string(actor);
  f.h.id = std::string(id);
  f.h.message_index = static_cast<std::uint32_t>(index);
  if (k == wire::kind::call) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    f.h.timeout_ms = static_cast<std::uint32_t>(std::clamp<long long>(left, 1, 0xffffffffLL));
  }
  f.h.has_init = has_init;
  f.body.reserve(has_init ? 2 : 1);
  return f;
}

/// Builds the call/cast frame for a remote owner (one copy per actor type).
template <class A>
[[gnu::noinline]] wire::frame make_request_frame(node_core const& core, wire::kind k, std::string_view id, void const* msg,
                                                 void (*encode)(std::string&, void const*), std::uint32_t index,
                                                 std::optional<init_arg_t<A>> const& init, clock::time_point deadline) {
  auto f = request_frame(core, k, actor_name_v<A>, id, index, init.has_value(), deadline);
  encode(f.body.emplace_back(), msg);
  if (init) f.body.push_back(wire::encode(*init));
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
    auto v = wire::decode<R>(f.body[0], lim);
    if (!v) return std::move(v).error();
    return reply<R>{std::move(*v), std::move(ref)};
  }
}

/// Sends an encoded call and completes `state` with the reply (one copy per reply type).
template <class R>
[[gnu::noinline]] void send_call_frame(node_core& core, std::string const& owner, wire::frame&& f, clock::time_point deadline,
                                       state_ptr<R> state) {
  auto const max_payload = core.config().max_payload_bytes;
  // The reply frame names only the node; the ref's actor and id come from the request.
  std::string actor = f.h.actor, id = f.h.id;
  core.send_remote(owner, std::move(f), deadline,
                   [state = std::move(state), max_payload, actor = std::move(actor), id = std::move(id)](wire::frame&& r) {
                     state->complete(read_reply<R>(std::move(r), actor, id, max_payload));
                   });
}

/// Creates a queued local call: envelope, call state and payload in one allocation. Returns the
/// state the caller waits on (one copy per actor and reply type).
template <class A, class R>
[[gnu::noinline]] std::pair<state_ptr<R>, local_envelope<A, R>*> new_local_call(void* msg, message_ops<A, R> const& ops,
                                                                              clock::time_point deadline) {
  void* tail = nullptr;
  auto c = std::allocate_shared<local_call<A, R>>(tail_allocator<local_call<A, R>>(ops.size, ops.align, &tail), deadline);
  ops.move_into(tail, msg);  // if it throws, c frees the block (no payload to destroy yet)
  c->msg = tail;
  c->destroy_msg = ops.destroy;
  c->invoke = ops.invoke;
  state_ptr<R> st(c, &c->call);
  auto* e = c.get();
  e->self = std::move(c);
  return {std::move(st), e};
}

/// Queues a local call: the state to wait on, or the error (one copy per actor and reply type).
template <class A, class R>
result<state_ptr<R>> push_local_call(node_core& core, std::string_view id, void* msg, message_ops<A, R> const& ops,
                                     std::optional<init_arg_t<A>>&& init, clock::time_point deadline) {
  auto [state, e] = new_local_call<A, R>(msg, ops, deadline);
  e->init_arg = std::move(init);
  envelope_ptr owner(e);
  if (auto ok = push_envelope(core, table_of<A>(core), actor_name_v<A>, id, owner); !ok) return std::move(ok).error();
  return std::move(state);
}

/// Queues a cast on a local activation (one copy per actor and reply type).
template <class A, class R>
result<void> push_local_cast(node_core& core, std::string_view id, void* msg, message_ops<A, R> const& ops,
                             std::optional<init_arg_t<A>>&& init) {
  envelope_ptr owner(ops.make_local(msg));
  static_cast<local_envelope<A, R>*>(owner.get())->init_arg = std::move(init);
  return push_envelope(core, table_of<A>(core), actor_name_v<A>, id, owner);
}

/// Synchronous call: inline on an idle local activation, else queued (local) or sent (remote).
template <class A, class R>
[[gnu::noinline]] call_result<R> call_erased(node_core& core, std::string_view id, void* msg, message_ops<A, R> const& ops,
                                             std::optional<init_arg_t<A>>&& init, std::chrono::milliseconds timeout) {
  if (core.stopping()) return shutting_down(core.name());
  auto const deadline = deadline_for(core, timeout);
  auto rt = core.route_for(A::capability::name, id);
  if (!rt) return std::move(rt).error();
  state_ptr<R> state;
  if (rt->local) {
    // Fast path: an idle activation runs the handler right here, with no queue and no thread hop.
    if (auto claimed = claim_idle(table_of<A>(core), id)) {
      auto* act = static_cast<activation<A>*>(claimed.get());
      value_slot<R> slot;
      auto r = act->with_instance(init ? &*init : nullptr,
                                  [&](A& self, context& ctx) { ops.invoke(msg, self, ctx, slot); });
      act->release_claim();
      if (!r) return std::move(r).error();
      return make_reply<R>(slot, act->ref());
    }
    auto queued = push_local_call<A, R>(core, id, msg, ops, std::move(init), deadline);
    if (!queued) return std::move(queued).error();
    state = std::move(*queued);
  } else {
    state = new_call_state<R>(deadline);
    send_call_frame<R>(core, rt->node,
                       make_request_frame<A>(core, wire::kind::call, id, msg, ops.encode, ops.index, init, deadline),
                       deadline, state);
  }
  return await_call<R>(state, actor_name_v<A>, id);
}

/// Asynchronous call: always queued or sent; the future completes on reply, error or deadline.
template <class A, class R>
[[gnu::noinline]] future<R> call_async_erased(node_core& core, std::string_view id, void* msg, message_ops<A, R> const& ops,
                                              std::optional<init_arg_t<A>>&& init, std::chrono::milliseconds timeout) {
  auto const deadline = deadline_for(core, timeout);
  auto rt = core.stopping() ? result<route>(shutting_down(core.name())) : core.route_for(A::capability::name, id);
  state_ptr<R> state;
  if (rt && rt->local) {
    auto queued = push_local_call<A, R>(core, id, msg, ops, std::move(init), deadline);
    if (queued) {
      state = std::move(*queued);
    } else {
      state = new_call_state<R>(deadline);
      complete_error<R>(*state, std::move(queued).error());
    }
  } else {
    state = new_call_state<R>(deadline);
    if (!rt) complete_error<R>(*state, std::move(rt).error());
    else
      send_call_frame<R>(core, rt->node,
                         make_request_frame<A>(core, wire::kind::call, id, msg, ops.encode, ops.index, init, deadline),
                         deadline, state);
  }
  return future<R>(std::move(state), std::weak_ptr<deadline_scheduler>(core.timer()));
}

/// Cast: returns once the message is queued locally or handed to the transport.
template <class A, class R>
[[gnu::noinline]] result<void> cast_erased(node_core& core, std::string_view id, void* msg, message_ops<A, R> const& ops,
                                           std::optional<init_arg_t<A>>&& init) {
  if (core.stopping()) return shutting_down(core.name());
  auto rt = core.route_for(A::capability::name, id);
  if (!rt) return std::move(rt).error();
  if (rt->local) return push_local_cast<A, R>(core, id, msg, ops, std::move(init));
  auto f = make_request_frame<A>(core, wire::kind::cast, id, msg, ops.encode, ops.index, init, clock::time_point::max());
  // Routed means handed to the I/O thread: a later send failure (peer gone, queue full) reaches
  // no caller, so the transport counts it (transport_stats().send_failures) instead.
  core.send_remote(rt->node, std::move(f), clock::now() + core.config().call_timeout, [](wire::frame&&) {});
  return {};
}

template <class A, class M>
call_result_t<A, M> call(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                         std::chrono::milliseconds timeout) {
  return call_erased<A, reply_t<A, M>>(core, id, &msg, ops_v<A, M>, std::move(init), timeout);
}

template <class A, class M>
future<reply_t<A, M>> call_async(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                                 std::chrono::milliseconds timeout) {
  return call_async_erased<A, reply_t<A, M>>(core, id, &msg, ops_v<A, M>, std::move(init), timeout);
}

template <class A, class M>
result<void> cast(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init) {
  return cast_erased<A, reply_t<A, M>>(core, id, &msg, ops_v<A, M>, std::move(init));
}

// ---- receiving side: a request frame from a peer, dispatched by message index ----------------

inline wire::frame error_frame(std::uint64_t request_id, errc code, std::string text) {
  wire::frame f;
  f.h.k = wire::kind::error;
  f.h.request_id = request_id;
  f.h.code = code;
  f.h.text = std::move(text);
  return f;
}

/// Answers a peer's request (not a template: shared by every type).
[[gnu::noinline]] inline void respond_reply(std::function<void(wire::frame&&)> const& respond, std::uint64_t request_id,
                                            std::string const& node, std::string body) {
  wire::frame f;
  f.h.k = wire::kind::reply;
  f.h.request_id = request_id;
  f.h.node = node;
  f.body.push_back(std::move(body));
  respond(std::move(f));
}

[[gnu::noinline]] inline void respond_error(std::function<void(wire::frame&&)> const& respond, std::uint64_t request_id,
                                            error e) {
  if (respond) respond(error_frame(request_id, e.code, std::move(e.message)));
}

template <class A, class R>
void remote_envelope<A, R>::deliver(A& self, context& ctx, activation<A>& act) {
  value_slot<R> slot;
  invoke(msg, self, ctx, slot);
  if (respond) respond_reply(respond, request_id, act.core().name(), encode_reply<R>(slot));
}

template <class A, class R>
void remote_envelope<A, R>::fail(error e) {
  respond_error(respond, request_id, std::move(e));
}

[[gnu::cold, gnu::noinline]] inline error undecodable(char const* what, std::size_t index, std::string_view actor,
                                                      error const& why) {
  return fail(errc::bad_message, std::string(what) + " of message #" + std::to_string(index) + " for actor '" +
                                     std::string(actor) + "': " + why.message);
}

/// Decodes a peer's request into a fresh envelope and queues it (one copy per actor and reply type).
template <class A, class R>
[[gnu::noinline]] void dispatch_remote(actor_table<A>& table, wire::frame&& f, std::function<void(wire::frame&&)>&& respond,
                                       message_ops<A, R> const& ops) {
  node_core& core = table.core();
  envelope_ptr owner;
  auto* e = ops.make_remote();
  owner.reset(e);
  e->request_id = f.h.request_id;
  if (f.h.k == wire::kind::call) e->respond = std::move(respond);
  wire::limits lim;
  lim.max_payload_bytes = core.config().max_payload_bytes;
  if (auto ok = wire::detail::decode_erased(f.body[0], lim, e->msg, ops.decode, ops.type); !ok)
    return e->fail(undecodable("payload", f.h.message_index, actor_name_v<A>, ok.error()));
  if (f.h.has_init) {
    if (f.body.size() < 2) return e->fail(fail(errc::bad_message, "frame announces an init argument but has none"));
    auto& init = e->init_arg.emplace();
    if (auto ok = wire::decode_into(f.body[1], init, lim); !ok)
      return e->fail(undecodable("init argument", f.h.message_index, actor_name_v<A>, ok.error()));
  }
  if (e->respond)
    e->deadline = clock::now() + std::chrono::milliseconds(f.h.timeout_ms ? f.h.timeout_ms : core.config().call_timeout.count());
  if (auto ok = push_envelope(core, &table, actor_name_v<A>, f.h.id, owner); !ok) e->fail(std::move(ok).error());
}

template <class A, class M>
void dispatch_message(actor_table<A>& t, wire::frame&& f, std::function<void(wire::frame&&)>&& respond) {
  dispatch_remote<A, reply_t<A, M>>(t, std::move(f), std::move(respond), ops_v<A, M>);
}

template <class A>
void actor_table<A>::deliver_remote(wire::frame&& f, std::function<void(wire::frame&&)> respond) {
  using handler = void (*)(actor_table<A>&, wire::frame&&, std::function<void(wire::frame&&)>&&);
  static constexpr auto handlers = []<class... Ms>(list<Ms...>*) {
    return std::array<handler, sizeof...(Ms)>{&dispatch_message<A, Ms>...};
  }(static_cast<typename A::messages*>(nullptr));
  if (f.h.message_index >= handlers.size()) {
    if (f.h.k == wire::kind::call && respond)
      respond(error_frame(f.h.request_id, errc::bad_message,
                          "actor '" + std::string(actor_name_v<A>) + "' has no message #" + std::to_string(f.h.message_index)));
    return;
  }
  handlers[f.h.message_index](*this, std::move(f), std::move(respond));
}

}  // namespace mesh::detail

namespace mesh {

inline std::string_view context::node_name() const noexcept { return core_->name(); }

template <class Actor, class Message>
result<reply<reply_t<Actor, std::remove_cvref_t<Message>>>> context::call(std::string_view id, Message&& msg,
                                                                          std::chrono::milliseconds timeout) {
  using M = std::remove_cvref_t<Message>;
  if constexpr (!check_accepts<Actor, M>()) {
    return fail(errc::type_mismatch, "unreachable");
  } else {
    return detail::call<Actor, M>(*core_, id, M(std::forward<Message>(msg)), std::nullopt, timeout);
  }
}

template <class Actor, class Message>
result<void> context::cast(std::string_view id, Message&& msg) {
  using M = std::remove_cvref_t<Message>;
  if constexpr (!check_accepts<Actor, M>()) {
    return fail(errc::type_mismatch, "unreachable");
  } else {
    return detail::cast<Actor, M>(*core_, id, M(std::forward<Message>(msg)), std::nullopt);
  }
}

template <class Actor, class Message>
future<reply_t<Actor, std::remove_cvref_t<Message>>> context::call_async(std::string_view id, Message&& msg,
                                                                        std::chrono::milliseconds timeout) {
  using M = std::remove_cvref_t<Message>;
  if constexpr (!check_accepts<Actor, M>()) {
    return {};
  } else {
    return detail::call_async<Actor, M>(*core_, id, M(std::forward<Message>(msg)), std::nullopt, timeout);
  }
}

}  // namespace mesh
