#pragma once
/// mesh::wire::type_name<T>(): the compiler's spelling of a type, at compile time.

#include <string_view>

namespace mesh::wire {

namespace detail {
template <class T>
constexpr std::string_view raw_type_name() {
#if defined(__clang__) || defined(__GNUC__)
  return __PRETTY_FUNCTION__;
#else
  return __FUNCSIG__;
#endif
}
}  // namespace detail

/// "ns::Type" for a class or enum; used in diagnostics and the schema fingerprint.
template <class T>
constexpr std::string_view type_name() {
  constexpr std::string_view raw = detail::raw_type_name<T>();
#if defined(__clang__)
  constexpr std::string_view key = "T = ";
  constexpr auto start = raw.find(key) + key.size();
  constexpr auto end = raw.rfind(']');
#elif defined(__GNUC__)
  constexpr std::string_view key = "T = ";
  constexpr auto start = raw.find(key) + key.size();
  constexpr auto end = raw.find_first_of(";]", start);
#else
  constexpr std::string_view key = "raw_type_name<";
  constexpr auto start = raw.find(key) + key.size();
  constexpr auto end = raw.rfind(">(void)");
#endif
  return raw.substr(start, end - start);
}

}  // namespace mesh::wire
