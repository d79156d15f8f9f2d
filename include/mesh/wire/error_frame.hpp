#pragma once
/// wire::error_frame: the answer that fails a request (kind error, an errc and its text).

#include <mesh/core/error.hpp>
#include <mesh/wire/frame.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace mesh::wire {

/// An error frame answering request `request_id` (0: a synthesized answer that never crossed the
/// wire, e.g. the node is leaving).
inline frame error_frame(std::uint64_t request_id, errc code, std::string text) {
  frame f;
  f.h.k = kind::error;
  f.h.request_id = request_id;
  f.h.code = code;
  f.h.text = std::move(text);
  return f;
}

}  // namespace mesh::wire
