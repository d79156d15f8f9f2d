#pragma once
/// detail::signature_v<T>: the identity of a data type across the processes of a cluster, a
/// 64-bit hash of T's structure: kinds and widths of numbers, strings, element types of
/// containers, and for a reflected struct its field names and field types in order. Unlike
/// wire::type_name it contains nothing the compiler spells (no type or namespace names), so
/// members built by different compilers agree. Types outside the reflection that msgpack adapts
/// by hand (other than node_id) fall back to their C++ spelling.

#include <mesh/flow/node_id.hpp>
#include <mesh/wire/reflect.hpp>
#include <mesh/wire/type_name.hpp>

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mesh::flow::detail {

template <class T>
constexpr void stable_signature(wire::hasher& h) {
  using U = std::remove_cv_t<T>;
  namespace wd = wire::detail;
  if constexpr (std::is_void_v<U>) h("void");
  else if constexpr (std::is_same_v<U, bool>) h("bool");
  else if constexpr (std::is_enum_v<U>) {
    h("enum");
    stable_signature<std::underlying_type_t<U>>(h);
  } else if constexpr (std::is_floating_point_v<U>) {
    h("float").number(sizeof(U));
  } else if constexpr (std::is_integral_v<U>) {
    h(std::is_signed_v<U> ? "int" : "uint").number(sizeof(U));
  } else if constexpr (std::is_same_v<U, std::string>) h("str");
  else if constexpr (std::is_same_v<U, node_id>) h("node_id");
  else if constexpr (wd::is_vector<U>::value) {
    h("vec");
    stable_signature<typename U::value_type>(h);
  } else if constexpr (wd::is_array<U>::value) {
    h("arr").number(std::tuple_size_v<U>);
    stable_signature<typename U::value_type>(h);
  } else if constexpr (wd::is_optional<U>::value) {
    h("opt");
    stable_signature<typename U::value_type>(h);
  } else if constexpr (wd::is_map<U>::value) {
    h("map");
    stable_signature<typename U::key_type>(h);
    stable_signature<typename U::mapped_type>(h);
  } else if constexpr (wd::is_tuple<U>::value) {
    h("tuple").number(std::tuple_size_v<U>);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (stable_signature<std::tuple_element_t<I, U>>(h), ...);
    }(std::make_index_sequence<std::tuple_size_v<U>>{});
  } else if constexpr (wire::is_reflected_v<U>) {
    h("struct");
    boost::hana::for_each(boost::hana::accessors<U>(), [&](auto p) {
      using M = std::remove_cvref_t<decltype(boost::hana::second(p)(std::declval<U&>()))>;
      h(boost::hana::to<char const*>(boost::hana::first(p)));
      stable_signature<M>(h);
    });
    h("end");
  } else if constexpr (wire::is_tag_v<U>) {
    h("tag");
  } else {
    h("?")(wire::type_name<U>());
  }
}

/// The cross-process identity of data type T (see above).
template <class T>
inline constexpr std::uint64_t signature_v = [] {
  wire::hasher h;
  stable_signature<T>(h);
  return h.h;
}();

}  // namespace mesh::flow::detail
