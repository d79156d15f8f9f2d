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
  return clock::now() + t;
}

/// A local message: the typed payload moved in, completed through a call_state (none for casts).
template <class A, class M>
struct local_envelope final : envelope<A> {
  M msg;
  std::optional<init_arg_t<A>> init_arg;
  std::shared_ptr<call_state_t<A, M>> state;

  local_envelope(M&& m, std::optional<init_arg_t<A>>&& i, std::shared_ptr<call_state_t<A, M>> s)
      : msg(std::move(m)), init_arg(std::move(i)), state(std::move(s)) {}

  init_arg_t<A> const* init() const noexcept override { return init_arg ? &*init_arg : nullptr; }
  bool abandoned() const noexcept override { return state && state->completed(); }
  void deliver(A& self, context& ctx, activation<A>& act) override {
    using R = reply_t<A, M>;
    if constexpr (std::is_void_v<R>) {
      invoke_handler(self, msg, ctx);
      if (state) state->complete(reply<void>{act.ref()});
    } else {
      R r = invoke_handler(self, msg, ctx);
      if (state) state->complete(reply<R>{std::move(r), act.ref()});
    }
  }
  void fail(error e) override {
    if (state) state->complete(std::move(e));
  }
};

/// Queues a local message, retrying when the activation was retired concurrently.
template <class A, class M>
result<void> push_local(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                        std::shared_ptr<call_state_t<A, M>> state, clock::time_point deadline) {
  auto* table = static_cast<actor_table<A>*>(core.find_table<A>());
  if (!table) return fail(errc::not_found, "actor '" + std::string(actor_name_v<A>) + "' is not in this node's schema");
  auto* e = new local_envelope<A, M>(std::move(msg), std::move(init), std::move(state));
  e->deadline = e->state ? deadline : clock::time_point::max();
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (core.stopping()) break;
    auto act = table->get_or_create(id);
    switch (act->push(e, core.config().mailbox_capacity)) {
      case activation<A>::push_result::ok: return {};
      case activation<A>::push_result::full:
        delete e;
        return fail(errc::overloaded, "mailbox of " + describe(actor_name_v<A>, id) + " is full (" +
                                          std::to_string(core.config().mailbox_capacity) + " messages)");
      case activation<A>::push_result::dead: continue;  // retired meanwhile: look up again
    }
  }
  delete e;
  return fail(errc::shutting_down, "node '" + core.name() + "' is shutting down");
}

/// Builds the call/cast frame for a remote owner.
template <class A, class M>
wire::frame make_request_frame(node_core const& core, wire::kind k, std::string_view id, M const& msg,
                               std::optional<init_arg_t<A>> const& init, clock::time_point deadline) {
  wire::frame f;
  f.h.k = k;
  f.h.fingerprint = core.fingerprint();
  f.h.actor = std::string(actor_name_v<A>);
  f.h.id = std::string(id);
  f.h.message_index = static_cast<std::uint32_t>(message_index_v<A, M>);
  if (k == wire::kind::call) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    f.h.timeout_ms = static_cast<std::uint32_t>(std::max<long long>(1, left));
  }
  f.h.has_init = init.has_value();
  f.body.push_back(wire::encode(msg));
  if (init) f.body.push_back(wire::encode(*init));
  return f;
}

/// Turns a reply or error frame from a peer into the typed call result.
template <class A, class M>
call_result_t<A, M> read_reply(wire::frame&& f, std::string_view id, std::size_t max_payload) {
  using R = reply_t<A, M>;
  if (f.h.k == wire::kind::error) return error{f.h.code, std::move(f.h.text)};
  if (f.h.k != wire::kind::reply || f.body.size() != 1) return fail(errc::bad_message, "peer answered with an unexpected frame");
  actor_ref ref{std::move(f.h.node), std::string(actor_name_v<A>), std::string(id)};
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

template <class A, class M>
void send_remote_call(node_core& core, std::string const& owner, std::string_view id, M const& msg,
                      std::optional<init_arg_t<A>> const& init, clock::time_point deadline,
                      std::shared_ptr<call_state_t<A, M>> state) {
  auto f = make_request_frame<A, M>(core, wire::kind::call, id, msg, init, deadline);
  auto const max_payload = core.config().max_payload_bytes;
  core.send_remote(owner, std::move(f), deadline, [state, sid = std::string(id), max_payload](wire::frame&& r) {
    state->complete(read_reply<A, M>(std::move(r), sid, max_payload));
  });
}

/// Synchronous call: inline on an idle local activation, else queued (local) or sent (remote).
template <class A, class M>
call_result_t<A, M> call(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                         std::chrono::milliseconds timeout) {
  using R = reply_t<A, M>;
  if (core.stopping()) return fail(errc::shutting_down, "node '" + core.name() + "' is shutting down");
  auto const deadline = deadline_for(core, timeout);
  auto rt = core.route_for(A::capability::name, id);
  if (!rt) return std::move(rt).error();
  std::shared_ptr<call_state_t<A, M>> state;
  if (rt->local) {
    auto* table = static_cast<actor_table<A>*>(core.find_table<A>());
    if (!table) return fail(errc::not_found, "actor '" + std::string(actor_name_v<A>) + "' is not in this node's schema");
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
    state = std::make_shared<call_state_t<A, M>>(deadline);
    if (auto ok = push_local<A, M>(core, id, std::move(msg), std::move(init), state, deadline); !ok) return std::move(ok).error();
  } else {
    state = std::make_shared<call_state_t<A, M>>(deadline);
    send_remote_call<A, M>(core, rt->node, id, msg, init, deadline, state);
  }
  if (worker_pool::on_worker_thread())
    core.pool().help_until([&] { return state->completed(); }, deadline);
  return state->take("call to " + describe(actor_name_v<A>, id));
}

/// Asynchronous call: always queued or sent; the future completes on reply, error or deadline.
template <class A, class M>
future<reply_t<A, M>> call_async(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init,
                                 std::chrono::milliseconds timeout) {
  auto const deadline = deadline_for(core, timeout);
  auto state = std::make_shared<call_state_t<A, M>>(deadline);
  future<reply_t<A, M>> fut(state, std::weak_ptr<deadline_scheduler>(core.timer()));
  if (core.stopping()) {
    state->complete(fail(errc::shutting_down, "node '" + core.name() + "' is shutting down"));
    return fut;
  }
  auto rt = core.route_for(A::capability::name, id);
  if (!rt) {
    state->complete(std::move(rt).error());
  } else if (rt->local) {
    if (auto ok = push_local<A, M>(core, id, std::move(msg), std::move(init), state, deadline); !ok)
      state->complete(std::move(ok).error());
  } else {
    send_remote_call<A, M>(core, rt->node, id, msg, init, deadline, state);
  }
  return fut;
}

/// Cast: returns once the message is queued locally or handed to the transport.
template <class A, class M>
result<void> cast(node_core& core, std::string_view id, M&& msg, std::optional<init_arg_t<A>>&& init) {
  if (core.stopping()) return fail(errc::shutting_down, "node '" + core.name() + "' is shutting down");
  auto rt = core.route_for(A::capability::name, id);
  if (!rt) return std::move(rt).error();
  if (rt->local) return push_local<A, M>(core, id, std::move(msg), std::move(init), nullptr, clock::time_point::max());
  auto f = make_request_frame<A, M>(core, wire::kind::cast, id, msg, init, clock::time_point::max());
  auto err = std::make_shared<std::optional<error>>();
  core.send_remote(rt->node, std::move(f), clock::now() + core.config().call_timeout, [err](wire::frame&& r) {
    if (r.h.k == wire::kind::error) *err = error{r.h.code, std::move(r.h.text)};
  });
  // The transport reports a send failure synchronously (unreachable, overloaded); else it's routed.
  if (*err) return std::move(**err);
  return {};
}

// ---- receiving side: a request frame from a peer, dispatched by message index ----------------

template <class A, class M>
struct remote_envelope final : envelope<A> {
  M msg;
  std::optional<init_arg_t<A>> init_arg;
  std::function<void(wire::frame&&)> respond;  // empty for casts
  std::uint64_t request_id = 0;

  init_arg_t<A> const* init() const noexcept override { return init_arg ? &*init_arg : nullptr; }
  void deliver(A& self, context& ctx, activation<A>& act) override {
    using R = reply_t<A, M>;
    if constexpr (std::is_void_v<R>) {
      invoke_handler(self, msg, ctx);
      if (respond) respond(make_reply(act, wire::encode(msgpack::type::nil_t{})));
    } else {
      R r = invoke_handler(self, msg, ctx);
      if (respond) respond(make_reply(act, wire::encode(r)));
    }
  }
  void fail(error e) override {
    if (!respond) return;
    wire::frame f;
    f.h.k = wire::kind::error;
    f.h.request_id = request_id;
    f.h.code = e.code;
    f.h.text = std::move(e.message);
    respond(std::move(f));
  }
  wire::frame make_reply(activation<A>& act, std::string body) {
    wire::frame f;
    f.h.k = wire::kind::reply;
    f.h.request_id = request_id;
    f.h.node = act.core().name();
    f.body.push_back(std::move(body));
    return f;
  }
};

inline wire::frame error_frame(std::uint64_t request_id, errc code, std::string text) {
  wire::frame f;
  f.h.k = wire::kind::error;
  f.h.request_id = request_id;
  f.h.code = code;
  f.h.text = std::move(text);
  return f;
}

template <class A, class M>
void dispatch_remote(actor_table<A>& table, wire::frame&& f, std::function<void(wire::frame&&)>&& respond) {
  node_core& core = table.core();
  bool const is_call = f.h.k == wire::kind::call;
  auto reject = [&](errc c, std::string text) {
    if (is_call && respond) respond(error_frame(f.h.request_id, c, std::move(text)));
  };
  wire::limits lim;
  lim.max_payload_bytes = core.config().max_payload_bytes;
  auto e = std::make_unique<remote_envelope<A, M>>();
  if (auto ok = wire::decode_into(f.body[0], e->msg, lim); !ok)
    return reject(errc::bad_message, "payload of message #" + std::to_string(f.h.message_index) + " for actor '" +
                                         std::string(actor_name_v<A>) + "': " + ok.error().message);
  if (f.h.has_init) {
    if (f.body.size() < 2) return reject(errc::bad_message, "frame announces an init argument but has none");
    auto v = wire::decode<init_arg_t<A>>(f.body[1], lim);
    if (!v) return reject(errc::bad_message, "init argument for actor '" + std::string(actor_name_v<A>) + "': " + v.error().message);
    e->init_arg = std::move(*v);
  }
  e->request_id = f.h.request_id;
  if (is_call) {
    e->respond = std::move(respond);
    e->deadline = clock::now() + std::chrono::milliseconds(f.h.timeout_ms ? f.h.timeout_ms : core.config().call_timeout.count());
  }
  for (int attempt = 0; attempt < 16 && !core.stopping(); ++attempt) {
    auto act = table.get_or_create(f.h.id);
    switch (act->push(e.get(), core.config().mailbox_capacity)) {
      case activation<A>::push_result::ok: e.release(); return;
      case activation<A>::push_result::full:
        return e->fail(fail(errc::overloaded, "mailbox of " + describe(actor_name_v<A>, f.h.id) + " is full"));
      case activation<A>::push_result::dead: continue;
    }
  }
  e->fail(fail(errc::shutting_down, "node '" + core.name() + "' is shutting down"));
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
