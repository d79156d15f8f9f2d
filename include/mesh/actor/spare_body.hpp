#pragma once
/// detail::spare_body(): this thread's reusable buffer for encoding an outgoing frame body.

#include <mesh/wire/frame.hpp>

#include <cstddef>
#include <string>

namespace mesh::detail {

/// A body buffer larger than this is not kept as the spare: one large reply must not pin its
/// memory in every thread that once sent it.
inline constexpr std::size_t max_spare_body_bytes = 64 * 1024;

/// This thread's spare buffer for encoding an outgoing body (a request's payload, a reply). The
/// transport sends a frame at once unless its sockets are busy, and then leaves the frame's bytes
/// where they were: they come back here, so that encoding allocates nothing once the buffer has
/// grown. A frame that had to be queued took its buffer along (the next one starts a new one).
inline std::string& spare_body() noexcept {
  thread_local std::string s;
  return s;
}

/// Appends a body part to `f` that starts out as the spare buffer, empty.
inline std::string& body_from_spare(wire::frame& f) {
  auto& b = f.body.emplace_back();
  b.swap(spare_body());
  b.clear();
  return b;
}

/// Takes the first body part of a frame the transport has sent back as the spare buffer (unless
/// it was moved away, or is too large to keep around).
inline void return_body(wire::frame& f) noexcept {
  if (f.body.empty()) return;
  auto& b = f.body[0];
  if (b.capacity() > spare_body().capacity() && b.capacity() <= max_spare_body_bytes) spare_body().swap(b);
}

}  // namespace mesh::detail
