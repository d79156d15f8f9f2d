#pragma once
/// mesh::context: what a handler may receive as its second argument to talk to other actors.
///   long handle(Add const& a, mesh::context& ctx) { auto r = ctx.call<Other>("x", Msg{}); ... }

#include <mesh/actor/future.hpp>
#include <mesh/actor/reply.hpp>
#include <mesh/core/error.hpp>
#include <mesh/core/trace.hpp>

#include <chrono>
#include <string_view>

namespace mesh {

namespace detail {
class node_core;
}

/// Handle to the running node inside a handler. Calls made through it may wait; a worker that
/// waits runs other activations meanwhile, so deep call chains do not exhaust the pool. A call
/// cycle back into a busy activation (A calls B calls A) waits until its deadline.
/// Valid only during the handler invocation it was passed to.
class context {
 public:
  context(detail::node_core& core, std::string_view actor, std::string_view id) noexcept
      : core_(&core), actor_(actor), id_(id) {}

  /// Id of the activation running this handler.
  std::string_view self_id() const noexcept { return id_; }
  /// Actor type name of the activation running this handler.
  std::string_view self_actor() const noexcept { return actor_; }
  /// Name of the node running this handler.
  std::string_view node_name() const noexcept;
  /// The W3C traceparent the request carried (see mesh::trace_scope), or empty. Calls made by
  /// the handler carry it on.
  std::string_view traceparent() const noexcept {
    return traceparent_.empty() ? current_traceparent() : traceparent_;
  }
  /// Sets what traceparent() returns (the request's, by the runtime).
  void set_traceparent(std::string_view t) noexcept { traceparent_ = t; }

  /// Calls another actor (any node); blocks this activation until the reply or the deadline.
  template <class Actor, class Message>
  result<reply<reply_t<Actor, std::remove_cvref_t<Message>>>> call(std::string_view id, Message&& msg,
                                                                   std::chrono::milliseconds timeout = {});
  /// Sends without waiting for a reply.
  template <class Actor, class Message>
  result<void> cast(std::string_view id, Message&& msg);
  /// Calls without blocking; the future can be continued with then().
  template <class Actor, class Message>
  future<reply_t<Actor, std::remove_cvref_t<Message>>> call_async(std::string_view id, Message&& msg,
                                                                 std::chrono::milliseconds timeout = {});

 private:
  detail::node_core* core_;
  std::string_view actor_;
  std::string_view id_;
  std::string_view traceparent_;
};

}  // namespace mesh
