#pragma once
/// The compile-time rules for logics that cross processes (listed in mesh::flow::host<...>):
/// a stable `name`, serializable types, unique names; and a host in the schema of a node a
/// network attaches to. One `mesh:` static_assert per broken rule.

#include <mesh/core/actor_traits.hpp>
#include <mesh/core/list.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/wire/reflect.hpp>

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

namespace mesh::flow {

namespace diagnostics {
template <class Logic>
struct flow_logic_needs_a_name_to_cross_processes {
  static_assert(always_false<Logic>, "mesh: a logic of mesh::flow::host needs `static constexpr mesh::fixed_string "
                                     "name = \"...\";` (its stable identity across processes)");
};
template <class Logic, class T>
struct flow_logic_type_not_serializable {
  static_assert(always_false<T>, "mesh: a logic of mesh::flow::host has an input, output, options, key or retrieve "
                                 "type that is not serializable; reflect it with BOOST_HANA_DEFINE_STRUCT or use "
                                 "types msgpack supports");
};
template <class Logic>
struct flow_host_logic_names_not_unique {
  static_assert(always_false<Logic>, "mesh: two logics of mesh::flow::host share this logic's name; give each a "
                                     "unique `name`");
};
template <class Node>
struct flow_network_needs_a_host_in_the_schema {
  static_assert(always_false<Node>, "mesh: a flow network attached to a mesh::node needs mesh::flow::host<Logics...> "
                                    "in the node's schema");
};
}  // namespace diagnostics

namespace detail {

template <class L, class T>
constexpr bool check_serializable() {
  if constexpr (std::is_void_v<T> || wire::is_serializable_v<T>) {
    return true;
  } else {
    (void)sizeof(diagnostics::flow_logic_type_not_serializable<L, T>);
    return false;
  }
}
template <class L>
constexpr bool check_keyed_serializable() {
  if constexpr (has_keyed_retrieve<L>) {
    if constexpr (!check_serializable<L, typename L::key>()) return false;
    else return check_serializable<L, keyed_retrieve_t<L>>();
  } else {
    return true;
  }
}
template <class L>
constexpr bool check_hosted_logic() {
  if constexpr (!is_valid_logic_v<L>) {
    return false;
  } else if constexpr (!mesh::detail::has_actor_name<L>) {
    (void)sizeof(diagnostics::flow_logic_needs_a_name_to_cross_processes<L>);
    return false;
  } else if constexpr (!check_serializable<L, input_t<L>>() || !check_serializable<L, output_t<L>>() ||
                       !check_serializable<L, options_t<L>>()) {
    return false;
  } else if constexpr (has_retrieve<L>) {
    if constexpr (!check_serializable<L, retrieve_t<L>>()) return false;
    else return check_keyed_serializable<L>();
  } else {
    return check_keyed_serializable<L>();
  }
}
template <class L>
struct hosted_logic_ok : std::bool_constant<check_hosted_logic<L>()> {};

template <class... Ls>
constexpr bool check_host() {
  if constexpr (!std::conjunction_v<hosted_logic_ok<Ls>...>) {
    return false;
  } else {
    constexpr std::array<std::string_view, sizeof...(Ls)> names{std::string_view(Ls::name)...};
    constexpr std::size_t clash = [&] {
      for (std::size_t i = 0; i < names.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (names[i] == names[j]) return i;
      return names.size();
    }();
    if constexpr (clash < sizeof...(Ls)) {
      (void)sizeof(diagnostics::flow_host_logic_names_not_unique<mesh::detail::list_at_t<clash, list<Ls...>>>);
      return false;
    } else {
      return true;
    }
  }
}

}  // namespace detail
}  // namespace mesh::flow
