#pragma once
/// mesh::capability: a named role a node can host (`struct game : mesh::capability<"game"> {};`).

#include <mesh/core/fixed_string.hpp>

#include <string_view>
#include <type_traits>

namespace mesh {

namespace detail {
struct capability_base {};
}  // namespace detail

/// A capability is a type; derive from it to name one: `struct chat : mesh::capability<"chat"> {};`.
template <fixed_string Name>
struct capability : detail::capability_base {
  static constexpr std::string_view name = Name.view();
};

/// True when C is a mesh::capability (or derives from one).
template <class C>
inline constexpr bool is_capability_v = std::is_base_of_v<detail::capability_base, C>;

}  // namespace mesh
