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

template <class A, class M>
using call_result_t = result<reply<reply_t<A, M>>>;

template <class A, class M>
using call_state_t = call_state<call_result_t<A, M>>;

inline clock::time_point deadline_for(node_core const& core, std::chrono::milliseconds timeout) {
  auto const t = timeout.count() > 0 ? timeout : core.config().call_timeout;
  return now_within(t / 256) + t;  // a deadline at most 0.4% late: the coarse clock when its tick fits
}

/// A local message: the typed payload moved in, completed through a call_state (none for casts).
template <class A, class M>
struct local_envelope : envelope<A> {
  M msg;
  std::optional<init_arg_t<A>> init_arg;
  call_state_t<A, M>* state = nullptr;  // owned by the derived local_call, if any

  local_envelope(M&& m, std::optional<init_arg_t<A>>&& i) : msg(std::move(m)), init_arg(std::move(i)) {}

  init_arg_t<A> const* init() const noexcept override { return init_arg ? &*init_arg : nullptr; }
  bool abandoned() const noexcept override { return state && state->completed(); }
  void deliver(A& self, context& ctx, activation<A>& act) override {
    using R = reply_t<A, M>;
    // The reply is built in place in the call state (no moves of the ref's strings).
    if constexpr (std::is_void_v<R>) {
      invoke_handler(self, msg, ctx);
      if (state) state->complete_with([&] { return reply<void>{act.ref()}; });
    } else {
      R r = invoke_handler(self, msg, ctx);
      if (state) state->complete_with([&] { return reply<R>{std::move(r), act.ref()}; });
    }
  }
  void fail(error e) override {
    if (state) state->complete(std::move(e));
  }
};

/// A local call: its envelope and its call state in one allocation. The future holds the state
/// (an aliasing shared_ptr); the mailbox holds `self` until dispose().
template <class A, class M>
struct local_call final : local_envelope<A, M> {
  call_state_t<A, M> call;
  std::shared_ptr<local_call> self;

  local_call(M&& m, std::optional<init_arg_t<A>>&& i, clock::time_point until)
      : local_envelope<A, M>(std::move(m), std::move(i)), call(until) {
    this->state = &call;
    this->deadline = until;
  }
  void dispose() noexcept override { auto last = std::move(self); }  // may destroy *this
};

/// Creates a local call: the state the caller waits on, and the envelope to queue.
template <class A, class M>
std::pair<std::shared_ptr<call_state_t<A, M>>, envelope<A>*> make_local_call(M&& msg, std::optional<init_arg_t<A>>&& init,
                                                                            clock::time_point deadline) {
  auto c = std::make_shared<local_call<A, M>>(std::move(msg), std::move(init), deadline);
  std::shared_ptr<call_state_t<A, M>> state(c, &c->call);
  auto* e = c.get();
  e->self = std::move(c);
  return {std::move(state), e};
}

/// Queues a local message (taking the envelope), retrying when the activation was retired
/// concurrently. On failure the envelope is disposed without completing it.
template <class A>
result<void> push_local(node_core& core, std::string_view id, envelope<A>* e) {
  std::unique_ptr<envelope<A>, envelope_disposer> guard(e);
  auto* table = static_cast<actor_table<A>*>(core.find_table<A>());
  if (!table) return not_in_schema(actor_name_v<A>);
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (core.stopping()) break;
    auto act = table->get_or_create(id);
    switch (act->push(e, core.config().mailbox_capacity)) {
      case activation<A>::push_result::ok: guard.release(); return {};
      case activation<A>::push_result::full: return mailbox_full(actor_name_v<A>, id, core.config().mailbox_capacity);
      case activation<A>::push_result::dead: continue;  // retired meanwhile: look up again
    }
  }
  return shutting_down(core.name());
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

/// Builds the call/cast frame for a remote owner.
template <class A, class M>
wire::frame make_request_frame(node_core const& core, wire::kind k, std::string_view id, M const& msg,
                               std::optional<init_arg_t<A>> const& init, clock::time_point deadline) {
  auto f = request_frame(core, k, actor_name_v<A>, id, message_index_v<A, M>, init.has_value(), deadline);
  f.body.push_back(wire::encode(msg));
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
void send_call_frame(node_core& core, std::string const& owner, wire::frame&& f, clock::time_point deadline,
                     std::shared_ptr<call_state<result<reply<R>>>> state) {
  auto const max_payload = core.config().max_payload_bytes;
  // The reply frame names only the node; the ref's actor and id come from the request.
  std::string actor = f.h.actor, id = f.h.id;
  core.send_remote(owner, std::move(f), deadline,
                   [state = std::move(state), max_payload, actor = std::move(actor), id = std::move(id)](wire::frame&& r) {
                     state->complete(read_reply<R>(std::move(r), actor, id, max_payload));
                   });
}

template <class A, class M>
void send_remote_call(node_core& core, std::string const& owner, std::string_view id, M const& msg,
                      std::optional<init_arg_t<A>> const& init, clock::time_point deadline,
                      std::shared_ptr<call_state_t<A, M>> state) {
  send_call_frame<reply_t<A, M>>(core, owner, make_request_frame<A, M>(core, wire::kind::call, id, msg, init, deadline),
                                 deadline, std::move(state));
}

/// Synchronous call: inline on an idle local activation, else queued (local) or sent (remote).
template <class A, class M>
call_result_t<A, M> call(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                         std::chrono::milliseconds timeout) {
  using R = reply_t<A, M>;
  if (core.stopping()) return shutting_down(core.name());
  auto const deadline = deadline_for(core, timeout);
  auto rt = core.route_for(A::capability::name, id);
  if (!rt) return std::move(rt).error();
  std::shared_ptr<call_state_t<A, M>> state;
  if (rt->local) {
    auto* table = static_cast<actor_table<A>*>(core.find_table<A>());
    if (!table) return not_in_schema(actor_name_v<A>);
    // Fast path: an idle activation runs the handler right here, with no queue and no thread hop.
    auto act = table->get_or_create(id);
    if (act->try_claim_idle()) {
      std::optional<call_result_t<A, M>> out;
      auto r = act->with_instance(init ? &*init : nullptr, [&](A& self, context& ctx) {
        if constexpr (std::is_void_v<R>) {
          invoke_handler(self, msg, ctx);
          out.emplace(reply<void>{act->ref()});
        } else {
          out.emplace(reply<R>{invoke_handler(self, msg, ctx), act->ref()});
        }
      });
      act->release_claim();
      if (!r) return std::move(r).error();
      return std::move(*out);
    }
    act.reset();
    auto [st, e] = make_local_call<A, M>(std::move(msg), std::move(init), deadline);
    if (auto ok = push_local<A>(core, id, e); !ok) return std::move(ok).error();
    state = std::move(st);
  } else {
    state = std::make_shared<call_state_t<A, M>>(deadline);
    send_remote_call<A, M>(core, rt->node, id, msg, init, deadline, state);
  }
  return state->take(actor_name_v<A>, id);
}

/// Asynchronous call: always queued or sent; the future completes on reply, error or deadline.
template <class A, class M>
future<reply_t<A, M>> call_async(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                                 std::chrono::milliseconds timeout) {
  auto const deadline = deadline_for(core, timeout);
  std::shared_ptr<call_state_t<A, M>> state;
  auto rt = core.stopping() ? result<route>(shutting_down(core.name())) : core.route_for(A::capability::name, id);
  if (rt && rt->local) {  // one allocation for the envelope and the state
    auto [st, e] = make_local_call<A, M>(std::move(msg), std::move(init), deadline);
    state = std::move(st);
    if (auto ok = push_local<A>(core, id, e); !ok) state->complete(std::move(ok).error());
  } else {
    state = std::make_shared<call_state_t<A, M>>(deadline);
    if (!rt) state->complete(std::move(rt).error());
    else send_remote_call<A, M>(core, rt->node, id, msg, init, deadline, state);
  }
  return future<reply_t<A, M>>(std::move(state), std::weak_ptr<deadline_scheduler>(core.timer()));
}

/// Cast: returns once the message is queued locally or handed to the transport.
template <class A, class M>
result<void> cast(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init) {
  if (core.stopping()) return shutting_down(core.name());
  auto rt = core.route_for(A::capability::name, id);
  if (!rt) return std::move(rt).error();
  if (rt->local) return push_local<A>(core, id, new local_envelope<A, M>(std::move(msg), std::move(init)));
  auto f = make_request_frame<A, M>(core, wire::kind::cast, id, msg, init, clock::time_point::max());
  // Routed means handed to the I/O thread: a later send failure (peer gone, queue full) reaches
  // no caller, so the transport counts it (transport_stats().send_failures) instead.
  core.send_remote(rt->node, std::move(f), clock::now() + core.config().call_timeout, [](wire::frame&&) {});
  return {};
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

/// The reply channel of a request that came from a peer (not a template: shared by every type).
struct remote_responder {
  std::function<void(wire::frame&&)> respond;  // empty for casts
  std::uint64_t request_id = 0;

  [[gnu::noinline]] void reply(std::string const& node, std::string body) {
    if (!respond) return;
    wire::frame f;
    f.h.k = wire::kind::reply;
    f.h.request_id = request_id;
    f.h.node = node;
    f.body.push_back(std::move(body));
    respond(std::move(f));
  }
  [[gnu::noinline]] void fail(error e) {
    if (respond) respond(error_frame(request_id, e.code, std::move(e.message)));
  }
};

template <class A, class M>
struct remote_envelope final : envelope<A> {
  M msg{};
  std::optional<init_arg_t<A>> init_arg;
  remote_responder out;

  init_arg_t<A> const* init() const noexcept override { return init_arg ? &*init_arg : nullptr; }
  void deliver(A& self, context& ctx, activation<A>& act) override {
    using R = reply_t<A, M>;
    if constexpr (std::is_void_v<R>) {
      invoke_handler(self, msg, ctx);
      if (out.respond) out.reply(act.core().name(), wire::encode(msgpack::type::nil_t{}));
    } else {
      R r = invoke_handler(self, msg, ctx);
      if (out.respond) out.reply(act.core().name(), wire::encode(r));
    }
  }
  void fail(error e) override { out.fail(std::move(e)); }
};

[[gnu::cold, gnu::noinline]] inline error undecodable(char const* what, std::size_t index, std::string_view actor,
                                                      error const& why) {
  return fail(errc::bad_message, std::string(what) + " of message #" + std::to_string(index) + " for actor '" +
                                     std::string(actor) + "': " + why.message);
}

/// Queues a decoded remote request on its activation (one copy per actor type).
template <class A>
[[gnu::noinline]] void push_remote(actor_table<A>& table, std::string const& id, std::unique_ptr<envelope<A>> e) {
  node_core& core = table.core();
  for (int attempt = 0; attempt < 16 && !core.stopping(); ++attempt) {
    auto act = table.get_or_create(id);
    switch (act->push(e.get(), core.config().mailbox_capacity)) {
      case activation<A>::push_result::ok: e.release(); return;
      case activation<A>::push_result::full: return e->fail(mailbox_full(actor_name_v<A>, id, core.config().mailbox_capacity));
      case activation<A>::push_result::dead: continue;
    }
  }
  e->fail(shutting_down(core.name()));
}

template <class A, class M>
void dispatch_remote(actor_table<A>& table, wire::frame&& f, std::function<void(wire::frame&&)>&& respond) {
  node_core& core = table.core();
  auto e = std::make_unique<remote_envelope<A, M>>();
  e->out.request_id = f.h.request_id;
  if (f.h.k == wire::kind::call) e->out.respond = std::move(respond);
  wire::limits lim;
  lim.max_payload_bytes = core.config().max_payload_bytes;
  if (auto ok = wire::decode_into(f.body[0], e->msg, lim); !ok)
    return e->out.fail(undecodable("payload", f.h.message_index, actor_name_v<A>, ok.error()));
  if (f.h.has_init) {
    if (f.body.size() < 2) return e->out.fail(fail(errc::bad_message, "frame announces an init argument but has none"));
    auto& init = e->init_arg.emplace();
    if (auto ok = wire::decode_into(f.body[1], init, lim); !ok)
      return e->out.fail(undecodable("init argument", f.h.message_index, actor_name_v<A>, ok.error()));
  }
  if (e->out.respond)
    e->deadline = clock::now() + std::chrono::milliseconds(f.h.timeout_ms ? f.h.timeout_ms : core.config().call_timeout.count());
  push_remote<A>(table, f.h.id, std::move(e));
}

template <class A>
void actor_table<A>::deliver_remote(wire::frame&& f, std::function<void(wire::frame&&)> respond) {
  using handler = void (*)(actor_table<A>&, wire::frame&&, std::function<void(wire::frame&&)>&&);
  static constexpr auto handlers = []<class... Ms>(list<Ms...>*) {
    return std::array<handler, sizeof...(Ms)>{&dispatch_remote<A, Ms>...};
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
