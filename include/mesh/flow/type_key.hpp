#pragma once
/// In-process identity and display name of a data or logic type, and how send_data decays the
/// value it is given. Remote type checks do not use these (see cluster_signature.hpp).

#include <mesh/wire/type_name.hpp>

#include <string>
#include <type_traits>

namespace mesh::flow::detail {

/// Identity of a C++ type in this process (address of a per-type variable): exact, and one
/// pointer comparison, so local connect/send_data checks cost nothing per item.
using type_key = void const*;
template <class T>
inline constexpr char type_key_v = 0;
template <class T>
constexpr type_key key_of() noexcept {
  return &type_key_v<T>;
}

/// The display name of a type in node_info and error messages (the compiler's spelling).
template <class T>
std::string type_name_of() {
  if constexpr (std::is_void_v<T>) return "void";
  else if constexpr (std::is_same_v<T, std::string>) return "std::string";
  else return std::string(wire::type_name<T>());
}

/// A value as send_data sees it: decayed, and a string literal or `char` pointer is std::string.
template <class T>
struct data_of {
  using type = std::decay_t<T>;
};
template <class T>
  requires std::is_same_v<std::decay_t<T>, char const*> || std::is_same_v<std::decay_t<T>, char*>
struct data_of<T> {
  using type = std::string;
};
template <class T>
using data_t = typename data_of<T>::type;

}  // namespace mesh::flow::detail
