#pragma once
/// Compile-time view of a flow logic type (DataMesh's NodeLogic): `input`, `output`, optional
/// `options`, `process(input const&, emitter<output>&)`, optional `retrieve()` / `retrieve(key)`,
/// and the checks that turn misuse into one readable `mesh:` static_assert.

#include <mesh/core/fixed_string.hpp>
#include <mesh/flow/emitter.hpp>
#include <mesh/wire/type_name.hpp>

#include <string_view>
#include <type_traits>

namespace mesh::flow {

/// Placeholder options of a logic that declares none.
struct no_options {
  friend bool operator==(no_options, no_options) = default;
};

namespace detail {

template <class L> concept has_input = requires { typename L::input; };
template <class L> concept has_output_type = requires { typename L::output; };
template <class L> concept has_options = requires { typename L::options; };
template <class L> concept has_key = requires { typename L::key; };
template <class L> concept has_name = requires { L::name; } && requires { std::string_view(L::name); };
template <class L> concept rolls_back_on_error = requires { L::rollback_on_error; } && bool(L::rollback_on_error);

template <class L, bool = has_output_type<L>> struct output_of { using type = void; };
template <class L> struct output_of<L, true> { using type = typename L::output; };
template <class L, bool = has_options<L>> struct options_of { using type = no_options; };
template <class L> struct options_of<L, true> { using type = typename L::options; };

}  // namespace detail

/// The type a logic accepts.
template <class L> using input_t = typename L::input;
/// The type a logic emits (void for a sink that declares no `output`).
template <class L> using output_t = typename detail::output_of<L>::type;
/// The logic's options type (mesh::flow::no_options when it declares none).
template <class L> using options_t = typename detail::options_of<L>::type;

namespace detail {

template <class L>
concept processes_with_emitter = requires(L& l, input_t<L> const& in, emitter<output_t<L>>& e) { l.process(in, e); };
template <class L>
concept processes_plain = std::is_void_v<output_t<L>> && requires(L& l, input_t<L> const& in) { l.process(in); };
// Whether L has any member named `process` (overloaded or template too): lookup of `process` in a
// class deriving from L and from a class with its own `process` is ambiguous exactly then.
struct process_fallback {
  void process();
};
template <class L>
struct process_probe : L, process_fallback {};
template <class L>
concept has_process_member = (std::is_final_v<L> && requires { &L::process; }) ||
                             (!std::is_final_v<L> && !requires { &process_probe<L>::process; });
template <class L>
concept has_retrieve = requires(L const& l) { l.retrieve(); };
template <class L>
concept has_keyed_retrieve = has_key<L> && requires(L const& l, typename L::key const& k) { l.retrieve(k); };
template <class L>
concept constructible_logic = (has_options<L> && std::is_constructible_v<L, typename options_of<L>::type>) ||
                              (!has_options<L> && std::is_default_constructible_v<L>);

template <class T>
concept data_type = std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T> && !std::is_array_v<T>;

}  // namespace detail

/// What retrieve_data<L>(id) returns: the decayed type of `L::retrieve() const`.
template <class L> using retrieve_t = std::remove_cvref_t<decltype(std::declval<L const&>().retrieve())>;
/// What retrieve_data<L>(id, key) returns.
template <class L> using keyed_retrieve_t =
    std::remove_cvref_t<decltype(std::declval<L const&>().retrieve(std::declval<typename L::key const&>()))>;

/// The logic's display name: its `name` when it declares one, else the C++ type name.
template <class L>
constexpr std::string_view logic_name() {
  if constexpr (detail::has_name<L>) return std::string_view(L::name);
  else return wire::type_name<L>();
}

// ---------------------------------------------------------------------------------------------
// Diagnostics: one checker template per rule, named after it, with the culprit as argument.
namespace diagnostics {
template <class> inline constexpr bool always_false = false;

template <class Logic>
struct flow_logic_must_be_a_class {
  static_assert(always_false<Logic>, "mesh: a flow logic must be a class type (struct or class); "
                                     "references, pointers and cv-qualified types are not logics");
};
template <class Logic>
struct flow_logic_needs_an_input_type {
  static_assert(always_false<Logic>, "mesh: flow logic has no `input` type; add `using input = T;` "
                                     "naming the data it accepts");
};
template <class Logic, class Input>
struct flow_logic_input_must_be_a_value_type {
  static_assert(always_false<Input>, "mesh: flow logic's `input` must be a non-const object type "
                                     "(not void, a reference or an array)");
};
template <class Logic, class Output>
struct flow_logic_output_must_be_a_value_type {
  static_assert(always_false<Output>, "mesh: flow logic's `output` must be a non-const object type, or "
                                      "void for a sink");
};
template <class Logic>
struct flow_logic_lacks_process {
  static_assert(always_false<Logic>, "mesh: flow logic has no process(); add "
                                     "`void process(input const&, mesh::flow::emitter<output>&)`");
};
template <class Logic, class Input, class Output>
struct flow_logic_process_has_wrong_signature {
  static_assert(always_false<Logic>, "mesh: flow logic's process() cannot be called as "
                                     "process(input const&, mesh::flow::emitter<output>&); fix its "
                                     "parameter types to match `input` and `output`");
};
template <class Logic, class Options>
struct flow_logic_constructor_missing {
  static_assert(always_false<Logic>, "mesh: flow logic cannot be constructed; add `explicit Logic(options)` "
                                     "(or a default constructor when it declares no `options`)");
};
template <class Logic>
struct flow_logic_has_no_retrieve {
  static_assert(always_false<Logic>, "mesh: retrieve_data needs the logic to have `R retrieve() const`; "
                                     "add it to read the node's state");
};
template <class Logic, class Key>
struct flow_logic_has_no_keyed_retrieve {
  static_assert(always_false<Key>, "mesh: retrieve_data with a key needs `using key = K;` and "
                                   "`R retrieve(key const&) const` in the logic");
};
template <class Logic, class Given>
struct flow_options_do_not_match_logic {
  static_assert(always_false<Given>, "mesh: start_node options are not convertible to the logic's "
                                     "`options` type; pass a Logic::options value");
};
}  // namespace diagnostics

/// Checks every rule of a logic type, emitting one `mesh:` static_assert for the first broken
/// rule; returns whether L is a valid logic. Code after a failed check instantiates nothing of L.
template <class L>
constexpr bool check_logic() {
  if constexpr (!std::is_class_v<L> || !std::is_same_v<L, std::remove_cvref_t<L>>) {
    (void)sizeof(diagnostics::flow_logic_must_be_a_class<L>);
    return false;
  } else if constexpr (!detail::has_input<L>) {
    (void)sizeof(diagnostics::flow_logic_needs_an_input_type<L>);
    return false;
  } else if constexpr (!detail::data_type<typename L::input>) {
    (void)sizeof(diagnostics::flow_logic_input_must_be_a_value_type<L, typename L::input>);
    return false;
  } else if constexpr (!std::is_void_v<output_t<L>> && !detail::data_type<output_t<L>>) {
    (void)sizeof(diagnostics::flow_logic_output_must_be_a_value_type<L, output_t<L>>);
    return false;
  } else if constexpr (!detail::processes_with_emitter<L> && !detail::processes_plain<L>) {
    if constexpr (detail::has_process_member<L>)
      (void)sizeof(diagnostics::flow_logic_process_has_wrong_signature<L, input_t<L>, output_t<L>>);
    else
      (void)sizeof(diagnostics::flow_logic_lacks_process<L>);
    return false;
  } else if constexpr (!detail::constructible_logic<L>) {
    (void)sizeof(diagnostics::flow_logic_constructor_missing<L, options_t<L>>);
    return false;
  } else {
    return true;
  }
}

/// True when L passes every logic rule (evaluating it emits the diagnostics).
template <class L>
inline constexpr bool is_valid_logic_v = check_logic<L>();

}  // namespace mesh::flow
