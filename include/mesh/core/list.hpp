#pragma once
/// mesh::list: the compile-time type list used for messages, actors and capabilities.

#include <cstddef>
#include <type_traits>

namespace mesh {

/// A compile-time list of types, e.g. `using messages = mesh::list<Add, Get>;`.
template <class... Ts>
struct list {
  static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {

template <class T>
struct is_list : std::false_type {};
template <class... Ts>
struct is_list<list<Ts...>> : std::true_type {};

/// Index of T in Ts..., or sizeof...(Ts) when absent. Plain constexpr: faster to compile than hana here.
template <class T, class... Ts>
constexpr std::size_t index_in() {
  constexpr bool hits[] = {std::is_same_v<T, Ts>..., false};
  for (std::size_t i = 0; i < sizeof...(Ts); ++i)
    if (hits[i]) return i;
  return sizeof...(Ts);
}

template <class T, class List>
struct list_index;
template <class T, class... Ts>
struct list_index<T, list<Ts...>> : std::integral_constant<std::size_t, index_in<T, Ts...>()> {};

template <class T, class List>
inline constexpr bool list_contains_v = list_index<T, List>::value < List::size;

template <std::size_t I, class List>
struct list_at;
template <std::size_t I, class T, class... Ts>
struct list_at<I, list<T, Ts...>> : list_at<I - 1, list<Ts...>> {};
template <class T, class... Ts>
struct list_at<0, list<T, Ts...>> {
  using type = T;
};
template <std::size_t I, class List>
using list_at_t = typename list_at<I, List>::type;

}  // namespace detail
}  // namespace mesh
