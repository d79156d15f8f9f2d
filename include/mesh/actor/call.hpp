#pragma once
/// The calling side of a request, shared by mesh::node and mesh::context: detail::call,
/// detail::call_async and detail::cast route the request, then run it on a local activation
/// (payload moved, never serialized) or encode it and send it to the owner node.

#include <mesh/actor/envelope.hpp>
#include <mesh/actor/future.hpp>
#include <mesh/actor/spare_body.hpp>
#include <mesh/core/trace.hpp>
#include <mesh/wire/error_frame.hpp>
#include <mesh/wire/frame.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mesh::detail {

// ---- the request paths: one copy per reply type ------------------------------------------------

/// The activation for id when it is idle and now claimed by the caller (else null).
[[gnu::noinline]] inline std::shared_ptr<activation_base> claim_idle(actor_table_base* table, std::string_view id) {
  if (!table) return nullptr;
  auto act = table->get_or_create_base(id);
  if (!act->try_claim_idle()) return nullptr;
  return act;
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
    f.h.chain = current_chain();  // a cast waits for nothing: it starts no cycle
  }
  f.h.has_init = init != nullptr;
  if (current_trace) f.h.traceparent = *current_trace;
  encode(body_from_spare(f), msg);
  if (init) a.encode_init(f.body.emplace_back(), init);
  return f;
}

/// errc::too_large when a request's payload or init argument is over max_payload_bytes: the
/// owner would drop it, so the caller learns it now instead of at its deadline.
[[gnu::cold, gnu::noinline]] inline error request_too_large(std::size_t bytes, std::size_t limit, std::string_view actor) {
  return fail(errc::too_large, "request to actor '" + std::string(actor) + "' has a payload of " + std::to_string(bytes) +
                                   " bytes, over max_payload_bytes (" + std::to_string(limit) + ")");
}
inline std::size_t largest_body(wire::frame const& f) noexcept {
  std::size_t n = 0;
  for (auto const& b : f.body) n = std::max(n, b.size());
  return n;
}

// ---- counting calls (node::metrics()) -----------------------------------------------------------

/// Where a call that gets a call state is counted: when it completes, by whichever completion wins.
inline call_meter meter_for(node_core& core, actor_ops const& a, bool remote, clock::time_point start) noexcept {
  auto& m = core.metrics();
  if (!m.enabled()) return {};
  // Every remote call is timed (a clock read is noise next to a network round trip).
  return {&m, m.index_of(a.name), remote, remote && start == clock::time_point{} ? clock::now() : start};
}
/// When to start timing a call: see sample_start (nothing when metrics are off).
inline clock::time_point call_start(node_core const& core) noexcept {
  return core.metrics().enabled() ? sample_start() : clock::time_point{};
}
/// Counts a call that failed before it had a call state, and returns its error.
[[gnu::cold, gnu::noinline]] inline error counted(node_core& core, actor_ops const& a, error e) {
  auto& m = core.metrics();
  m.record_error(m.index_of(a.name), false, e, {});
  return e;
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
                                                                          clock::time_point deadline, call_meter const& meter) {
  void* tail = nullptr;
  auto c = std::allocate_shared<local_call<R>>(tail_allocator<local_call<R>>(ops.size, ops.align, &tail), deadline);
  ops.move_into(tail, msg);  // if it throws, c frees the block (no payload to destroy yet)
  c->msg = tail;
  c->destroy_msg = ops.destroy;
  c->invoke = ops.invoke;
  c->call.meter(meter);  // before it is queued: a worker may complete it at once
  state_ptr<R> st(c, &c->call);
  auto* e = c.get();
  e->self = std::move(c);
  return {std::move(st), e};
}

/// Queues a local call: the state to wait on, or the error.
template <class R>
[[gnu::noinline]] result<state_ptr<R>> push_local_call(node_core& core, actor_ops const& a, std::string_view id, void* msg,
                                                       message_ops<R> const& ops, void* init, clock::time_point deadline,
                                                       call_meter const& meter) {
  auto [state, e] = new_local_call<R>(msg, ops, deadline, meter);
  envelope_ptr owner(e);
  e->chain = current_chain();
  if (init) e->set_init(a, init);
  // A refused push is not completed through the state: the caller counts it.
  if (auto ok = push_envelope(core, a.table(core), a.name, id, owner); !ok) {
    state->meter({});
    return std::move(ok).error();
  }
  return std::move(state);
}

/// Synchronous call: inline on an idle local activation, else queued (local) or sent (remote).
template <class R>
[[gnu::noinline]] call_result<R> call_erased(node_core& core, actor_ops const& a, std::string_view id, void* msg,
                                             message_ops<R> const& ops, void* init, std::chrono::milliseconds timeout) {
  if (core.stopping()) return counted(core, a, shutting_down(core.name()));
  auto const deadline = deadline_for(core, timeout);
  auto const start = call_start(core);
  auto rt = core.route_for(a.capability, id);
  if (!rt) return counted(core, a, std::move(rt).error());
  state_ptr<R> state;
  if (rt->local) {
    // Fast path: an idle activation runs the handler right here, with no queue and no thread hop
    // (not a coroutine handler: it may suspend, and resumes on a worker).
    if (auto claimed = ops.is_task ? nullptr : claim_idle(a.table(core), id)) {
      value_slot<R> slot;
      auto r = a.run(*claimed, init, ops.invoke, msg, &slot);
      claimed->release_claim();
      auto& m = core.metrics();
      if (!r) {
        error e = std::move(r).error();
        m.record_error(m.index_of(a.name), false, e, start);
        return e;
      }
      m.record(m.index_of(a.name), false, errc::ok, start);
      return make_reply<R>(slot, claimed->ref());
    }
    auto queued = push_local_call<R>(core, a, id, msg, ops, init, deadline, meter_for(core, a, false, start));
    if (!queued) return counted(core, a, std::move(queued).error());
    state = std::move(*queued);
  } else {
    auto f = make_request_frame(core, a, wire::kind::call, id, msg, ops.encode, ops.index, init, deadline);
    if (auto const n = largest_body(f); n > core.config().max_payload_bytes) {
      return_body(f);
      return counted(core, a, request_too_large(n, core.config().max_payload_bytes, a.name));
    }
    state = new_call_state<R>(deadline);
    state->meter(meter_for(core, a, true, start));
    // A worker helps with queued work while it waits; any other thread may read the reply itself.
    if (!current_wait_helper()) state->read_by(core.reader());
    send_call_frame<R>(core, rt->node, a.name, std::move(f), deadline, state);
  }
  return await_call<R>(state, a.name, id);
}

/// Asynchronous call: always queued or sent; the future completes on reply, error or deadline.
template <class R>
[[gnu::noinline]] future<R> call_async_erased(node_core& core, actor_ops const& a, std::string_view id, void* msg,
                                              message_ops<R> const& ops, void* init, std::chrono::milliseconds timeout) {
  auto const deadline = deadline_for(core, timeout);
  auto const start = call_start(core);
  auto rt = core.stopping() ? result<route>(shutting_down(core.name())) : core.route_for(a.capability, id);
  state_ptr<R> state;
  if (rt && rt->local) {
    auto const meter = meter_for(core, a, false, start);
    auto queued = push_local_call<R>(core, a, id, msg, ops, init, deadline, meter);
    if (queued) {
      state = std::move(*queued);
    } else {
      state = new_call_state<R>(deadline);
      state->meter(meter);
      complete_error<R>(*state, std::move(queued).error());
    }
  } else {
    state = new_call_state<R>(deadline);
    state->meter(meter_for(core, a, rt.has_value(), start));
    state->read_by(core.reader(), true);  // whoever waits for it may read the reply itself (see take)
    if (!rt) {
      complete_error<R>(*state, std::move(rt).error());
    } else {
      auto f = make_request_frame(core, a, wire::kind::call, id, msg, ops.encode, ops.index, init, deadline);
      if (auto const n = largest_body(f); n > core.config().max_payload_bytes) {
        return_body(f);
        complete_error<R>(*state, request_too_large(n, core.config().max_payload_bytes, a.name));
      } else {
        send_call_frame<R>(core, rt->node, a.name, std::move(f), deadline, state);
      }
    }
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
  if (auto const n = largest_body(f); n > core.config().max_payload_bytes) {
    return_body(f);
    return request_too_large(n, core.config().max_payload_bytes, a.name);
  }
  // Routed means handed to the I/O thread: a later send failure (peer gone, queue full) reaches
  // no caller, so the transport counts it (transport_stats().cast_drops) instead.
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

}  // namespace mesh::detail
