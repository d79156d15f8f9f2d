#pragma once
/// The receiving side of a request from a peer: actor_table<A>::deliver_remote decodes the frame
/// into a detail::remote_envelope, dispatched by message index, and respond_reply/respond_error
/// answer it.

#include <mesh/actor/envelope.hpp>
#include <mesh/actor/spare_body.hpp>
#include <mesh/core/trace.hpp>
#include <mesh/wire/error_frame.hpp>
#include <mesh/wire/frame.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace mesh::detail {

/// The untyped part of a request from a peer: its payload, how to answer it, and its id.
struct remote_request : payload_slot {
  frame_callback respond;  // empty for casts
  std::uint64_t request_id = 0;
  node_core* core = nullptr;  // counts the casts that fail (nobody else hears of them)
  std::string traceparent;  // the caller's trace context, or empty
};

/// A request from a peer: the payload decoded in place, answered through `respond`.
template <class R>
struct remote_envelope final : envelope_base, remote_request {
  invoke_fn invoke = nullptr;

  void const* init() const noexcept override { return init_arg; }
  bool deliver(void* self, context& ctx, activation_base& act) override;
  void reply(void* slot, activation_base& act) override;
  void fail(error e) override;
};

// ---- receiving side: a request frame from a peer, dispatched by message index ----------------

/// Answers a peer's request (not a template: shared by every type).
[[gnu::noinline]] inline void respond_reply(frame_callback const& respond, std::uint64_t request_id,
                                            std::string const& node, std::size_t max_payload,
                                            void (*encode)(std::string&, void*), void* slot) {
  wire::frame f;
  f.h.k = wire::kind::reply;
  f.h.request_id = request_id;
  f.h.node = node;
  auto& body = body_from_spare(f);
  encode(body, slot);
  if (body.size() > max_payload) {  // the caller would refuse it: say why instead
    auto const n = body.size();
    return_body(f);
    respond(wire::error_frame(request_id, errc::too_large, "reply of " + std::to_string(n) +
                                                               " bytes is over max_payload_bytes (" + std::to_string(max_payload) + ")"));
    return;
  }
  respond(std::move(f));
  return_body(f);
}

[[gnu::noinline]] inline void respond_error(frame_callback const& respond, std::uint64_t request_id,
                                            error e) {
  if (respond) respond(wire::error_frame(request_id, e.code, std::move(e.message)));
}

template <class R>
bool remote_envelope<R>::deliver(void* self, context& ctx, activation_base& act) {
  value_slot<R> slot;
  if (traceparent.empty()) {
    invoke(msg, self, ctx, &slot);
  } else {
    ctx.set_traceparent(traceparent);
    trace_guard carried(&traceparent);  // the handler's own calls carry it on
    invoke(msg, self, ctx, &slot);
  }
  if (slot.task) return start_task(*slot.task, *this, act);
  act.after_handler(self);  // the state is saved before the reply leaves
  reply(&slot, act);
  return false;
}

template <class R>
void remote_envelope<R>::reply(void* slot, activation_base& act) {
  if (respond) respond_reply(respond, request_id, act.core().name(), act.core().config().max_payload_bytes, &encode_reply<R>, slot);
}

template <class R>
void remote_envelope<R>::fail(error e) {
  if (!respond) {
    // A cast that could not run (a handler that threw did run: not a drop).
    if (core && e.code != errc::actor_failed && e.code != errc::rejected) core->count_cast_drop();
    return;
  }
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
  r.core = &core;
  if (!f.h.traceparent.empty()) r.traceparent = std::move(f.h.traceparent);
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
  e.chain = f.h.chain;
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
