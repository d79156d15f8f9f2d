// The shard_for scenario on mesh::shard_for (erlang:phash2 of the id's bytes, then mod range).
#include <mesh/cluster/shard.hpp>

#include "scenario.hpp"

namespace shard_bench {
namespace {

struct hasher_mesh {
  static constexpr char const* name = "mesh::shard_for";
  std::uint32_t operator()(std::string_view id) const noexcept { return mesh::shard_for(id, 4096); }
};

}  // namespace

system mesh_system() { return {hasher_mesh::name, &measure<hasher_mesh>}; }

}  // namespace shard_bench
