#pragma once
/// wire::check_serializable<Schema>(): the rule that every message, reply, init argument and `state` of a
/// schema's actors can travel (wire::is_serializable_v), checked after the structural rules of
/// core/actor_traits.hpp, with one `mesh:` static_assert for the first type that cannot.

#include <mesh/core/actor_traits.hpp>
#include <mesh/core/schema.hpp>
#include <mesh/wire/reflect.hpp>

#include <type_traits>

namespace mesh {

namespace diagnostics {
template <fixed_string Actor, class Message>
struct message_type_not_serializable {
  static_assert(always_false<Message>,
                "mesh: message type is not serializable; reflect it with BOOST_HANA_DEFINE_STRUCT or "
                "BOOST_HANA_ADAPT_STRUCT, or use integers, floats, bool, enums with a fixed underlying type (enum class), std::string, std::vector, "
                "std::map, std::optional");
};
template <fixed_string Actor, class Message, class Reply>
struct reply_type_not_serializable {
  static_assert(always_false<Reply>,
                "mesh: handle() returns a type that is not serializable; return void, a reflected struct "
                "(BOOST_HANA_DEFINE_STRUCT) or a type msgpack supports");
};
template <fixed_string Actor, class InitArg>
struct init_arg_not_serializable {
  static_assert(always_false<InitArg>,
                "mesh: actor's init_arg is not serializable; reflect it with BOOST_HANA_DEFINE_STRUCT or use a "
                "type msgpack supports");
};
template <fixed_string Actor, class State>
struct actor_state_not_serializable {
  static_assert(always_false<State>,
                "mesh: actor's `state` member is not serializable; reflect its type with BOOST_HANA_DEFINE_STRUCT "
                "(or BOOST_HANA_ADAPT_STRUCT) over serializable fields, or rename the member when it is not "
                "durable state");
};
}  // namespace diagnostics

namespace wire {

namespace detail {

template <class A, class M>
constexpr bool check_message_serializable() {
  if constexpr (!is_serializable_v<M>) {
    (void)sizeof(diagnostics::message_type_not_serializable<A::name, M>);
    return false;
  } else if constexpr (!std::is_void_v<reply_t<A, M>> && !is_serializable_v<reply_t<A, M>>) {
    (void)sizeof(diagnostics::reply_type_not_serializable<A::name, M, reply_t<A, M>>);
    return false;
  } else {
    return true;
  }
}
template <class A, class M>
struct message_serializable : std::bool_constant<check_message_serializable<A, M>()> {};

// std::conjunction stops at the first failing message: one error per misuse.
template <class A, class... Ms>
constexpr bool messages_serializable(list<Ms...>*) {
  return std::conjunction_v<message_serializable<A, Ms>...>;
}

/// The state is stored (node_config::store) and handed off between nodes as msgpack.
template <class A>
constexpr bool check_state_serializable() {
  if constexpr (!mesh::detail::has_state_member<A>) {
    return true;
  } else if constexpr (!is_serializable_v<state_t<A>>) {
    (void)sizeof(diagnostics::actor_state_not_serializable<A::name, state_t<A>>);
    return false;
  } else {
    return true;
  }
}

}  // namespace detail

/// Checks that actor A's messages, their replies, A's init_arg and its `state` member can travel, emitting one `mesh:`
/// static_assert for the first that cannot. A must pass mesh::check_actor<A>() (else this returns
/// false and emits nothing more).
template <class A>
constexpr bool check_actor_serializable() {
  if constexpr (!is_valid_actor_v<A>) {
    return false;
  } else if constexpr (!detail::messages_serializable<A>(static_cast<typename A::messages*>(nullptr))) {
    return false;
  } else if constexpr (mesh::detail::has_init_arg<A> && !is_serializable_v<init_arg_t<A>>) {
    (void)sizeof(diagnostics::init_arg_not_serializable<A::name, init_arg_t<A>>);
    return false;
  } else {
    return detail::check_state_serializable<A>();
  }
}

namespace detail {
template <class A>
struct actor_serializable : std::bool_constant<check_actor_serializable<A>()> {};

template <class... As>
constexpr bool check_schema_serializable(schema<As...>*) {
  if constexpr (!schema<As...>::valid) return false;
  else return std::conjunction_v<actor_serializable<As>...>;  // the first failing actor only
}
}  // namespace detail

/// Checks the structural rules of schema S (S::valid) and then that every type its actors send,
/// return or are initialized with can travel; one `mesh:` static_assert for the first broken rule.
/// mesh::node<S> requires it.
template <class S>
constexpr bool check_serializable() {
  return detail::check_schema_serializable(static_cast<S*>(nullptr));
}

}  // namespace wire
}  // namespace mesh
