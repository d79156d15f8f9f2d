#pragma once
/// wire::fingerprint_v<Schema>: the 64-bit schema fingerprint every frame and gossip message
/// carries. Two binaries can talk only when their fingerprints match.

#include <mesh/core/actor_traits.hpp>
#include <mesh/core/schema.hpp>
#include <mesh/wire/check_serializable.hpp>
#include <mesh/wire/reflect.hpp>

#include <cstdint>

namespace mesh::wire {

namespace detail {

template <class A>
constexpr void actor_signature(hasher& h) {
  h("actor")(actor_name_v<A>)(A::capability::name);
  signature<init_arg_t<A>>(h);
  []<class... Ms>(hasher& hh, list<Ms...>*) {
    hh.number(sizeof...(Ms));
    ((hh("msg"), signature<Ms>(hh), hh("reply"), signature<reply_t<A, Ms>>(hh)), ...);
  }(h, static_cast<typename A::messages*>(nullptr));
}

template <class... As>
constexpr std::uint64_t fingerprint_of(schema<As...>*) {
  hasher h;
  h("mesh-schema").number(sizeof...(As));
  if constexpr (check_serializable<schema<As...>>()) (actor_signature<As>(h), ...);
  return h.h;
}

}  // namespace detail

/// FNV-1a (wire::hasher) of every actor name, capability, message list, field name and field type
/// of schema S (a mesh::schema<...>), in schema order; a compile-time constant.
template <class S>
inline constexpr std::uint64_t fingerprint_v = detail::fingerprint_of(static_cast<S*>(nullptr));

}  // namespace mesh::wire
