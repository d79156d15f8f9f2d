#pragma once
/// detail::in_place_from<F>: builds what a callable returns directly in its destination.

#include <utility>

namespace mesh::detail {

/// Converts to what `f()` returns by calling it, so `T x(in_place_from<F>{f})` can build f's
/// result directly in x (g++ and clang elide the move through the conversion function).
template <class F>
struct in_place_from {
  F& f;
  operator decltype(std::declval<F&>()())() const { return f(); }
};

}  // namespace mesh::detail
