#pragma once
/// Compile-time view of an actor type: its name, capability, messages, reply types and init
/// argument, and the structural checks that turn misuse into one readable `mesh:` static_assert.
/// Whether its messages, replies and init argument can travel is the wire's rule
/// (wire/check_serializable.hpp): core knows no serialization.

#include <mesh/core/capability.hpp>
#include <mesh/core/fixed_string.hpp>
#include <mesh/core/fwd.hpp>
#include <mesh/core/list.hpp>

#include <string_view>
#include <type_traits>

namespace mesh {

/// Placeholder init argument of actors that declare no `init_arg`.
struct no_init {};

namespace detail {

template <class T> struct is_fixed_string : std::false_type {};
template <std::size_t N> struct is_fixed_string<fixed_string<N>> : std::true_type {};

template <class A>
concept has_actor_name = requires { A::name; } && is_fixed_string<std::remove_cvref_t<decltype(A::name)>>::value;
template <class A>
concept has_capability_type = requires { typename A::capability; };
template <class A>
concept has_messages_list = requires { typename A::messages; } && is_list<typename A::messages>::value;
template <class A>
concept has_init_arg = requires { typename A::init_arg; };
/// A has a public data member named `state`: durable, movable actor state (docs/state.md).
template <class A>
concept has_state_member = requires { &A::state; } && std::is_member_object_pointer_v<decltype(&A::state)>;

template <class A, class M>
concept handles_with_context = requires(A& a, M const& m, context& c) { a.handle(m, c); };
template <class A, class M>
concept handles_plain = requires(A& a, M const& m) { a.handle(m); };
template <class A, class M>
concept handles = handles_plain<A, M> || handles_with_context<A, M>;

/// A coroutine handler's return type, mesh::task<R>, and what it replies with (R).
template <class T> struct task_reply { using type = T; static constexpr bool is_task = false; };
template <class R> struct task_reply<task<R>> { using type = R; static constexpr bool is_task = true; };

/// The reply type of A's handler for M (`invalid_reply` when there is none): what handle()
/// returns, or R for a coroutine handler returning mesh::task<R>.
struct invalid_reply {};
template <class A, class M>
auto handler_return_of() {
  if constexpr (handles_plain<A, M>) return std::type_identity<decltype(std::declval<A&>().handle(std::declval<M const&>()))>{};
  else if constexpr (handles_with_context<A, M>)
    return std::type_identity<decltype(std::declval<A&>().handle(std::declval<M const&>(), std::declval<context&>()))>{};
  else return std::type_identity<invalid_reply>{};
}
template <class A, class M>
using handler_return_t = std::remove_cvref_t<typename decltype(handler_return_of<A, M>())::type>;
template <class A, class M>
auto reply_type_of() {
  return std::type_identity<typename task_reply<handler_return_t<A, M>>::type>{};
}

/// True when A's handler for M is a coroutine (returns mesh::task<R>).
template <class A, class M>
inline constexpr bool is_task_handler_v = task_reply<handler_return_t<A, M>>::is_task;

template <class T>
using store_t = std::conditional_t<std::is_void_v<T>, no_init, T>;

}  // namespace detail

namespace detail {
template <class A, bool = has_init_arg<A>>
struct init_arg_of { using type = no_init; };
template <class A>
struct init_arg_of<A, true> { using type = typename A::init_arg; };
template <class A, bool = has_capability_type<A>>
struct capability_of { using type = void; };
template <class A>
struct capability_of<A, true> { using type = typename A::capability; };
}  // namespace detail

/// The init argument type of actor A (mesh::no_init when A declares none).
template <class A>
using init_arg_t = typename detail::init_arg_of<A>::type;

/// The reply type of A's handler for message M (void handlers reply with nothing).
template <class A, class M>
using reply_t = std::remove_cvref_t<typename decltype(detail::reply_type_of<A, M>())::type>;

/// The type of actor A's `state` member (A must have one: detail::has_state_member<A>).
template <class A>
using state_t = std::remove_cvref_t<decltype(std::declval<A&>().state)>;

/// Wire index of message M in actor A's `messages` list.
template <class A, class M>
inline constexpr std::size_t message_index_v = detail::list_index<M, typename A::messages>::value;

/// The actor's stable name as a string_view.
template <class A>
inline constexpr std::string_view actor_name_v = A::name.view();

// ---------------------------------------------------------------------------------------------
// Diagnostics. Each rule is a checker template named after it; its arguments (the actor's name as
// an NTTP, the culprit type) appear in the compiler's "In instantiation of" line.
namespace diagnostics {
template <class>
inline constexpr bool always_false = false;

template <class Actor>
struct actor_needs_a_name {
  static_assert(always_false<Actor>,
                "mesh: actor type has no `name`; add `static constexpr mesh::fixed_string name = \"...\";` "
                "(its stable wire identity)");
};
template <fixed_string Actor, class Capability>
struct actor_capability_must_be_a_mesh_capability {
  static_assert(always_false<Capability>,
                "mesh: actor's `capability` is not a mesh::capability; declare "
                "`struct my_cap : mesh::capability<\"my_cap\"> {};` and write `using capability = my_cap;`");
};
template <fixed_string Actor>
struct actor_needs_a_messages_list {
  static_assert(Actor.size() == 0 && Actor.size() != 0,
                "mesh: actor has no `messages` list; add `using messages = mesh::list<Msg1, Msg2>;`");
};
template <fixed_string Actor, class Message>
struct actor_lacks_handle_for_message {
  static_assert(always_false<Message>,
                "mesh: actor lists a message it has no handle() for; add `R handle(Message const&)` "
                "(or `R handle(Message const&, mesh::context&)`) or remove the message from `messages`");
};
template <fixed_string Actor, class InitArg>
struct actor_constructor_missing {
  static_assert(always_false<InitArg>,
                "mesh: actor cannot be constructed; add a constructor `Actor(std::string_view id, init_arg const&)`, "
                "or `Actor(std::string_view id)` when it has no init_arg");
};
template <fixed_string Actor>
struct actor_name_not_unique_in_schema {
  static_assert(Actor.size() == 0 && Actor.size() != 0,
                "mesh: two actors in the schema share this name; give each actor type a unique `name`");
};
template <fixed_string Actor, class Message>
struct actor_does_not_accept_message {
  static_assert(always_false<Message>,
                "mesh: actor does not list this message type in `messages`; add it to the actor's "
                "mesh::list or send a message it accepts");
};
template <fixed_string Actor, class Message>
struct coroutine_handler_needs_context {
  static_assert(always_false<Message>,
                "mesh: a coroutine handler (returning mesh::task<R>) must take the context; write "
                "`mesh::task<R> handle(Message const&, mesh::context& ctx)`: the task calls other actors "
                "through ctx and runs on the node's workers");
};
template <class Actor>
struct actor_not_in_schema {
  static_assert(always_false<Actor>,
                "mesh: actor type is not part of this node's schema; add it to mesh::schema<...>");
};
template <class Capability>
struct not_a_capability {
  static_assert(always_false<Capability>,
                "mesh: register_capabilities<...> takes mesh::capability types; declare "
                "`struct my_cap : mesh::capability<\"my_cap\"> {};`");
};
template <class S>
struct node_needs_a_schema {
  static_assert(always_false<S>, "mesh: mesh::node takes a mesh::schema<Actors...>; write `mesh::node<mesh::schema<MyActor>>`");
};
template <class Actor>
struct actor_type_must_be_a_class {
  static_assert(always_false<Actor>, "mesh: an actor must be a class type (struct or class); references, pointers and cv-qualified types are not actors");
};
}  // namespace diagnostics

namespace detail {

template <class A, class M>
constexpr bool check_message() {
  if constexpr (!handles<A, M>) {
    (void)sizeof(diagnostics::actor_lacks_handle_for_message<A::name, M>);
    return false;
  } else if constexpr (handles_plain<A, M> && is_task_handler_v<A, M>) {
    (void)sizeof(diagnostics::coroutine_handler_needs_context<A::name, M>);
    return false;
  } else {
    return true;
  }
}
template <class A, class M>
struct message_passes_checks : std::bool_constant<check_message<A, M>()> {};

template <class A>
constexpr bool check_messages() {
  // Stop at the first broken rule: one error per misuse. std::conjunction instantiates the checks
  // of later messages only while the earlier ones pass (a fold over `ok && ...` would check them all).
  return []<class... Ms>(list<Ms...>*) {
    return std::conjunction_v<message_passes_checks<A, Ms>...>;
  }(static_cast<typename A::messages*>(nullptr));
}

template <class A>
constexpr bool check_constructor() {
  if constexpr (has_init_arg<A>) {
    if constexpr (!std::is_constructible_v<A, std::string_view, typename A::init_arg const&>) {
      (void)sizeof(diagnostics::actor_constructor_missing<A::name, typename A::init_arg>);
      return false;
    } else {
      return true;
    }
  } else if constexpr (!std::is_constructible_v<A, std::string_view> && !std::is_default_constructible_v<A>) {
    (void)sizeof(diagnostics::actor_constructor_missing<A::name, no_init>);
    return false;
  } else {
    return true;
  }
}

}  // namespace detail

/// Checks every structural rule of an actor type (a class with a name, a capability, a messages
/// list, a handler per message, a constructor), emitting one `mesh:` static_assert for the first
/// broken rule. Returns whether A passes; code after a failed check must not instantiate more of A.
/// Serializability is checked on top of this by wire::check_actor_serializable<A>().
template <class A>
constexpr bool check_actor() {
  if constexpr (!std::is_class_v<A> || !std::is_same_v<A, std::remove_cvref_t<A>>) {
    (void)sizeof(diagnostics::actor_type_must_be_a_class<A>);
    return false;
  } else if constexpr (!detail::has_actor_name<A>) {
    (void)sizeof(diagnostics::actor_needs_a_name<A>);
    return false;
  } else if constexpr (!is_capability_v<typename detail::capability_of<A>::type>) {
    // capability_of is void when A declares none (naming A::capability here would be a hard error).
    using cap = typename detail::capability_of<A>::type;
    (void)sizeof(diagnostics::actor_capability_must_be_a_mesh_capability<A::name, cap>);
    return false;
  } else if constexpr (!detail::has_messages_list<A>) {
    (void)sizeof(diagnostics::actor_needs_a_messages_list<A::name>);
    return false;
  } else if constexpr (!detail::check_messages<A>()) {
    return false;
  } else {
    return detail::check_constructor<A>();
  }
}

/// True when A passes every structural actor rule (evaluating it emits the diagnostics).
template <class A>
inline constexpr bool is_valid_actor_v = check_actor<A>();

/// Checks that actor A accepts message M (emits the `mesh:` diagnostic otherwise).
template <class A, class M>
constexpr bool check_accepts() {
  if constexpr (!is_valid_actor_v<A>) return false;
  else if constexpr (!detail::list_contains_v<M, typename A::messages>) {
    (void)sizeof(diagnostics::actor_does_not_accept_message<A::name, M>);
    return false;
  } else {
    return true;
  }
}

}  // namespace mesh
