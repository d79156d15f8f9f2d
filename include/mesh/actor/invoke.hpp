#pragma once
/// The typed request paths shared by mesh::node and mesh::context: the calling side
/// (actor/call.hpp), the receiving side (actor/deliver_remote.hpp), and mesh::context's calls.

#include <mesh/actor/call.hpp>
#include <mesh/actor/context.hpp>
#include <mesh/actor/deliver_remote.hpp>
#include <mesh/actor/future.hpp>
#include <mesh/wire/check_serializable.hpp>

#include <chrono>
#include <optional>
#include <string_view>
#include <type_traits>

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
