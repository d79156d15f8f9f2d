#pragma once
/// mesh::schema<Actors...>: the application's actor set, checked and indexed at compile time.
/// Its fingerprint (wire/fingerprint.hpp) and the rule that its types can travel
/// (wire/check_serializable.hpp) belong to the wire layer.

#include <mesh/core/actor_traits.hpp>

#include <array>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mesh {

namespace detail {

template <class... As>
constexpr bool check_unique_names() {
  constexpr std::array<std::string_view, sizeof...(As)> names{actor_name_v<As>...};
  constexpr std::size_t clash = [&] {
    for (std::size_t i = 0; i < names.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (names[i] == names[j]) return i;
    return names.size();
  }();
  if constexpr (clash < sizeof...(As)) {
    (void)sizeof(diagnostics::actor_name_not_unique_in_schema<list_at_t<clash, list<As...>>::name>);
    return false;
  } else {
    return true;
  }
}

template <class A>
struct actor_passes_checks : std::bool_constant<is_valid_actor_v<A>> {};

template <class... As>
constexpr bool check_schema() {
  // std::conjunction stops at the first invalid actor: the later ones are not checked, so a schema
  // reports one error (naming is_valid_actor_v<As> in a fold would check every actor).
  if constexpr (std::conjunction_v<actor_passes_checks<As>...>) return check_unique_names<As...>();
  else return false;
}

}  // namespace detail

/// The application's actor set. Everything here is a compile-time constant.
template <class... Actors>
struct schema {
  /// True when every actor passes its structural rules and names are unique (else one `mesh:`
  /// error was emitted). mesh::node<schema> also requires wire::check_serializable<schema>().
  static constexpr bool valid = detail::check_schema<Actors...>();

  using actors = list<Actors...>;
  static constexpr std::size_t size = sizeof...(Actors);

  /// Index of actor A in the schema (size when absent).
  template <class A>
  static constexpr std::size_t index_of = detail::index_in<A, Actors...>();

  template <class A>
  static constexpr bool contains = index_of<A> < size;

  /// Actor names in schema order.
  static constexpr std::array<std::string_view, size> names() { return {Actors::name.view()...}; }

  /// Capability name of each actor, in schema order.
  static constexpr std::array<std::string_view, size> capabilities() { return {Actors::capability::name...}; }

  /// Names of the actors that need capability `cap`, in schema order.
  static constexpr auto actors_for(std::string_view cap) {
    std::array<std::string_view, size> out{};
    std::size_t n = 0;
    ((Actors::capability::name == cap ? void(out[n++] = Actors::name.view()) : void()), ...);
    return std::pair{out, n};
  }
};

namespace detail {
template <class T> struct is_schema : std::false_type {};
template <class... As> struct is_schema<schema<As...>> : std::true_type {};
}  // namespace detail

}  // namespace mesh
