#pragma once
/// mesh::fixed_string: a string literal usable as a non-type template parameter.

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace mesh {

/// A compile-time string built from a literal: `fixed_string s = "game";`.
/// N counts the terminating zero, as for the literal's array type.
template <std::size_t N>
struct fixed_string {
  char data[N]{};

  constexpr fixed_string() = default;
  constexpr fixed_string(char const (&s)[N]) { std::copy_n(s, N, data); }

  /// The characters without the terminating zero.
  constexpr std::string_view view() const { return {data, N - 1}; }
  constexpr operator std::string_view() const { return view(); }
  static constexpr std::size_t size() { return N - 1; }

  template <std::size_t M>
  constexpr bool operator==(fixed_string<M> const& o) const {
    return view() == o.view();
  }
};

template <std::size_t N>
fixed_string(char const (&)[N]) -> fixed_string<N>;

}  // namespace mesh
