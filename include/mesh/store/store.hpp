#pragma once
/// mesh::store: where actors with a `state` member keep it between activations (docs/state.md).
/// An abstract interface with no database in it: <mesh/store/sqlite.hpp> and
/// <mesh/store/redis.hpp> implement it, and so may users.

#include <mesh/core/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mesh {

/// What store::claim returns: the saved state (none before the first save) and the fencing
/// token the new owner writes with.
struct claimed_state {
  /// The msgpack bytes of the last saved state; empty optional when nothing was saved yet.
  std::optional<std::string> bytes;
  /// The key's epoch after this claim: larger than every token handed out before for the key.
  std::uint64_t token = 0;
};

/// Durable storage of actor states, keyed by (actor type name, id), with per-key fencing tokens
/// (Kleppmann): a node that activates an id *claims* it, which atomically raises the key's epoch
/// and records the owner; every save carries the epoch its writer claimed and is refused once a
/// later claim raised the epoch. So a stale owner (one that was declared dead, or lost the shard,
/// while it still ran) cannot overwrite what the new owner wrote.
///
/// Errors: errc::rebalancing for a fenced (refused) write; errc::store_failed when the store
/// cannot be reached or answers with an error; errc::invalid_argument for a bad configuration.
/// Implementations are thread-safe: a node calls them from its worker and I/O threads at once.
class store {
 public:
  store() = default;
  store(store const&) = delete;
  store& operator=(store const&) = delete;
  virtual ~store() = default;

  /// Claims (actor, id) for node `owner`: raises the key's epoch by one, records the owner, and
  /// returns the last saved bytes with the new epoch as the fencing token. Atomic.
  [[nodiscard]] virtual result<claimed_state> claim(std::string_view actor, std::string_view id, std::string_view owner) = 0;

  /// Saves `bytes` for (actor, id) if no claim happened since the one that returned `token`
  /// (the stored epoch is still `token`); else errc::rebalancing naming the newer owner, and
  /// nothing is written. Atomic.
  [[nodiscard]] virtual result<void> save(std::string_view actor, std::string_view id, std::string_view bytes,
                                          std::uint64_t token) = 0;

  /// Removes the saved state of (actor, id) under the same fencing rule as save (the epoch is
  /// kept, so an old token stays refused).
  [[nodiscard]] virtual result<void> erase(std::string_view actor, std::string_view id, std::uint64_t token) = 0;

  /// The saved bytes of (actor, id) without claiming it (tools and tests); none when absent.
  [[nodiscard]] virtual result<std::optional<std::string>> peek(std::string_view actor, std::string_view id) = 0;

  /// What the store is, for messages: "sqlite:/var/lib/app/state.db", "redis:tcp://...".
  virtual std::string describe() const = 0;
};

namespace detail {
/// errc::rebalancing for a save refused by the fencing rule (shared by the stores' texts).
[[gnu::cold, gnu::noinline]] inline error fenced_write(std::string_view actor, std::string_view id, std::uint64_t token,
                                                       std::uint64_t epoch, std::string_view owner) {
  return fail(errc::rebalancing, "state of actor '" + std::string(actor) + "' id '" + std::string(id) +
                                     "' was claimed by node '" + std::string(owner) + "' (epoch " + std::to_string(epoch) +
                                     ") after this activation's claim (epoch " + std::to_string(token) +
                                     "): write refused; retry");
}
}  // namespace detail

}  // namespace mesh
