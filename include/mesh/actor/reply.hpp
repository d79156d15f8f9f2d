#pragma once
/// mesh::actor_ref, mesh::reply<T> and mesh::request<A, M>: what a call returns and takes.

#include <mesh/core/actor_traits.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mesh {

/// Identifies the activation that handled a call: where it ran and which actor it was.
struct actor_ref {
  std::string node;   ///< name of the node that hosts the activation
  std::string actor;  ///< actor type name (the actor's `name`)
  std::string id;     ///< actor id
  friend bool operator==(actor_ref const&, actor_ref const&) = default;
};

/// A successful call: the handler's return value and the activation that produced it.
template <class T>
struct reply {
  T value;
  actor_ref ref;
};

/// Reply of a `void` handler: only the activation.
template <>
struct reply<void> {
  actor_ref ref;
};

/// A fully specified request (the seed's %Mesh.Request{}): id, payload, optional init argument
/// used only if this message activates the actor, and an optional per-call timeout.
template <class Actor, class Message>
struct request {
  std::string id;
  Message payload{};
  std::optional<init_arg_t<Actor>> init_arg{};
  std::chrono::milliseconds timeout{0};  ///< 0: the node's default call timeout
};

}  // namespace mesh
