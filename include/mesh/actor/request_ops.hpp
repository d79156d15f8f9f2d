#pragma once
/// detail::message_ops / detail::actor_ops: an actor type and a message type as data (small
/// thunks and constants), so that the request paths are written once per reply type.

#include <mesh/actor/activation.hpp>
#include <mesh/actor/call_state.hpp>
#include <mesh/actor/reply.hpp>
#include <mesh/actor/task.hpp>
#include <mesh/core/actor_traits.hpp>
#include <mesh/wire/codec.hpp>

#include <chrono>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace mesh::detail {

// Compile cost shapes these files (request_ops, envelope, call, deliver_remote). A schema of N actors x M messages would instantiate typed
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
  // nil (0xc0) as docs/wire.md says; msgpack-c would pack nil_t as an empty array (0x90).
  if constexpr (std::is_void_v<R>) out.push_back(static_cast<char>(0xc0));
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
  if constexpr (is_task_handler_v<A, M>) static_cast<value_slot<reply_t<A, M>>*>(slot)->task = invoke_handler(a, m, ctx).release();
  else if constexpr (std::is_void_v<reply_t<A, M>>) invoke_handler(a, m, ctx);
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
  bool is_task;  // a coroutine handler: never run inline on the caller's thread (it may suspend)
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
                                                 alignof(M),
                                                 is_task_handler_v<A, M>};

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
  activation_base* act;
};
template <class A>
void run_invocation(void* data, A& self, context& ctx) {
  auto const& i = *static_cast<invocation const*>(data);
  i.fn(i.msg, &self, ctx, i.slot);
  if constexpr (has_state_member<A>) i.act->after_handler(&self);  // saved before the caller sees the reply
}
/// Runs `fn` on a claimed activation of A (constructing the instance with `init` if needed).
template <class A>
result<void> run_claimed(activation_base& act, void const* init, invoke_fn fn, void* msg, void* slot) {
  invocation inv{fn, msg, slot, &act};
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

}  // namespace mesh::detail
