#pragma once
/// mesh::trace_scope: the W3C trace context (`traceparent`) that calls made on a thread carry, so
/// mesh calls join a caller's OpenTelemetry trace (docs/operations.md, "Tracing").

#include <string>
#include <string_view>

namespace mesh {

/// True when `t` is a W3C traceparent (https://www.w3.org/TR/trace-context/#traceparent-header):
/// version-traceid-parentid-flags in lower-case hex, neither id all zeros, version not ff;
/// version 00 is exactly 55 characters, a later version may append "-..." fields.
constexpr bool is_valid_traceparent(std::string_view t) noexcept {
  auto hex = [&](std::size_t at, std::size_t n, bool nonzero) {
    bool any = false;
    for (std::size_t i = at; i < at + n; ++i) {
      char const c = t[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
      any = any || c != '0';
    }
    return any || !nonzero;
  };
  if (t.size() < 55 || t[2] != '-' || t[35] != '-' || t[52] != '-') return false;
  if (!hex(0, 2, false) || t.substr(0, 2) == "ff" || !hex(3, 32, true) || !hex(36, 16, true) || !hex(53, 2, false)) return false;
  if (t.substr(0, 2) == "00") return t.size() == 55;
  return t.size() == 55 || t[55] == '-';
}

namespace detail {
/// The traceparent calls made on this thread carry (null: none). Set only by trace_scope and by
/// a handler's run (its request's traceparent).
constinit inline thread_local std::string const* current_trace = nullptr;

/// Makes `*t` the thread's traceparent for the guard's lifetime (t unchecked, not null).
class trace_guard {
 public:
  explicit trace_guard(std::string const* t) noexcept : outer_(current_trace) { current_trace = t; }
  trace_guard(trace_guard const&) = delete;
  trace_guard& operator=(trace_guard const&) = delete;
  ~trace_guard() { current_trace = outer_; }

 private:
  std::string const* outer_;
};
}  // namespace detail

/// The traceparent calls made on this thread carry now (empty: none).
inline std::string_view current_traceparent() noexcept {
  return detail::current_trace ? std::string_view(*detail::current_trace) : std::string_view();
}

/// While it lives, the calls and casts this thread makes carry `traceparent` to the handlers
/// (mesh::context::traceparent()), which pass it on to the calls they make. An invalid value is
/// ignored (active() is false), as W3C asks of receivers. Scopes nest. Not movable: it belongs to
/// the thread that made it.
///   { mesh::trace_scope t{span_traceparent}; n.call<Counter>("c1", Add{1}); }
class trace_scope {
 public:
  explicit trace_scope(std::string_view traceparent)
      : value_(traceparent), outer_(detail::current_trace) {
    if (is_valid_traceparent(value_)) detail::current_trace = &value_;
  }
  trace_scope(trace_scope const&) = delete;
  trace_scope& operator=(trace_scope const&) = delete;
  ~trace_scope() { detail::current_trace = outer_; }

  /// True when the value was a valid traceparent and calls carry it.
  bool active() const noexcept { return detail::current_trace == &value_; }

 private:
  std::string value_;
  std::string const* outer_;
};

}  // namespace mesh
