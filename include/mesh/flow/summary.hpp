#pragma once
/// One-line summaries of option values for node_info: numbers, strings, enums, types with an
/// ADL `to_string(x)`, and small aggregates of those (fields in declaration order, `{10, "x"}`).
/// Anything else is summarized by its type name.

#include <mesh/wire/type_name.hpp>

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mesh::flow::detail {

struct any_field {
  template <class T>
  operator T() const;  // unevaluated only
};

template <class T, std::size_t... I>
constexpr bool brace_n(std::index_sequence<I...>) {
  return requires { T{(void(I), any_field{})...}; };
}
/// Converts only to numbers, enums and std::string: a nested aggregate or std::array member then
/// needs several of these (brace elision), so the two counts below differ and we give up.
struct any_scalar {
  template <class T>
    requires(std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string>)
  operator T() const;  // unevaluated only
};
template <class T, std::size_t... I>
constexpr bool scalar_brace_n(std::index_sequence<I...>) {
  return requires { T{(void(I), any_scalar{})...}; };
}

/// Number of fields of a simple aggregate of numbers, enums and strings (1..6), or 0 when it is
/// not one (nested aggregates, more fields). A C array member is not supported.
template <class T>
constexpr std::size_t simple_field_count() {
  if constexpr (!std::is_aggregate_v<T> || std::is_array_v<T>) {
    return 0;
  } else {
    std::size_t n = 0;
    [&]<std::size_t... N>(std::index_sequence<N...>) {
      ((brace_n<T>(std::make_index_sequence<N + 1>{}) ? void(n = N + 1) : void()), ...);
    }(std::make_index_sequence<6>{});
    if (n == 0 || brace_n<T>(std::make_index_sequence<7>{})) return 0;
    bool const same = [&]<std::size_t... N>(std::index_sequence<N...>) {
      return ((N + 1 == n ? scalar_brace_n<T>(std::make_index_sequence<N + 1>{}) : true) && ...);
    }(std::make_index_sequence<6>{});
    return same ? n : 0;
  }
}

template <class T>
concept has_adl_to_string = requires(T const& v) {
  { to_string(v) } -> std::convertible_to<std::string>;
};

template <class T>
void summarize(std::string& out, T const& v);

template <class T>
void summarize_fields(std::string& out, T const& v) {
  constexpr std::size_t n = simple_field_count<T>();
  out += '{';
  auto each = [&](auto const&... f) {
    std::size_t i = 0;
    ((out += (i++ ? ", " : ""), summarize(out, f)), ...);
  };
  if constexpr (n == 1) { auto const& [a] = v; each(a); }
  else if constexpr (n == 2) { auto const& [a, b] = v; each(a, b); }
  else if constexpr (n == 3) { auto const& [a, b, c] = v; each(a, b, c); }
  else if constexpr (n == 4) { auto const& [a, b, c, d] = v; each(a, b, c, d); }
  else if constexpr (n == 5) { auto const& [a, b, c, d, e] = v; each(a, b, c, d, e); }
  else if constexpr (n == 6) { auto const& [a, b, c, d, e, f] = v; each(a, b, c, d, e, f); }
  out += '}';
}

template <class T>
void summarize(std::string& out, T const& v) {
  if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_same_v<T, char>) {
    out += '\'';
    out += v;
    out += '\'';
  } else if constexpr (std::is_arithmetic_v<T>) {
    out += std::to_string(v);
  } else if constexpr (std::is_enum_v<T>) {
    out += std::to_string(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_convertible_v<T const&, std::string_view>) {
    out += '"';
    out += std::string_view(v);
    out += '"';
  } else if constexpr (has_adl_to_string<T>) {
    out += to_string(v);
  } else if constexpr (std::is_empty_v<T>) {
    out += "{}";
  } else if constexpr (simple_field_count<T>() > 0) {
    summarize_fields(out, v);
  } else {
    out += wire::type_name<T>();
  }
}

/// The summary of an options value ("" for a logic without options).
template <class T>
std::string summary_of(T const& v) {
  std::string out;
  summarize(out, v);
  return out;
}

}  // namespace mesh::flow::detail
