#pragma once
/// detail::frame_callback: what receives the answer to a request (a reply or error frame), or
/// sends one. The transport and the actor layer pass requests to each other with one.

#include <mesh/core/function.hpp>
#include <mesh/wire/frame.hpp>

namespace mesh::detail {

/// Called exactly once with the answer frame. Room for a call's state, its actor name and id
/// inline: no allocation per call.
using frame_callback = inplace_function<void(wire::frame&&), 80>;

}  // namespace mesh::detail
