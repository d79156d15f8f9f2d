#pragma once
/// cluster::owner_index: which of the (sorted) nodes hosting a capability owns a shard, by
/// mesh::placement (node_config::placement). Every member must compute the same owner, so this is
/// a pure function of the placement, the shard and the sorted node names.

#include <mesh/config.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mesh::detail {
/// MurmurHash3's 64-bit finalizer: every input bit flips each output bit with probability ~1/2.
constexpr std::uint64_t mix64(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

/// FNV-1a over a node name, finalized: a stable 64-bit identity of the node (the same on every
/// member and every platform, unlike std::hash).
constexpr std::uint64_t node_hash(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

/// The rendezvous weight of (shard, node): highest wins.
constexpr std::uint64_t rendezvous_weight(std::uint64_t shard_mix, std::uint64_t node) noexcept {
  return mix64(shard_mix ^ node);
}
}  // namespace mesh::detail

namespace mesh::cluster {

/// Index in `sorted_nodes` (sorted, unique, non-empty) of the owner of `shard`.
/// modulo: shard % n (the seed's rule). rendezvous: the node with the highest weight
/// mix64(mix64(shard) ^ node_hash(name)); equal weights (practically never) go to the first name.
constexpr std::size_t owner_index(mesh::placement p, std::uint64_t shard, std::span<std::string const> sorted_nodes) noexcept {
  std::size_t const n = sorted_nodes.size();
  if (n <= 1) return 0;
  if (p != mesh::placement::rendezvous) return static_cast<std::size_t>(shard % n);
  std::uint64_t const s = mesh::detail::mix64(shard + 0x9e3779b97f4a7c15ULL);
  std::size_t best = 0;
  std::uint64_t best_w = mesh::detail::rendezvous_weight(s, mesh::detail::node_hash(sorted_nodes[0]));
  for (std::size_t i = 1; i < n; ++i) {
    std::uint64_t const w = mesh::detail::rendezvous_weight(s, mesh::detail::node_hash(sorted_nodes[i]));
    if (w > best_w) {
      best_w = w;
      best = i;
    }
  }
  return best;
}

/// The placement's name as node_config and docs spell it ("modulo", "rendezvous").
constexpr std::string_view to_string(mesh::placement p) noexcept {
  switch (p) {
    case mesh::placement::modulo: return "modulo";
    case mesh::placement::rendezvous: return "rendezvous";
  }
  return "unknown";
}

}  // namespace mesh::cluster
