// The shard_for scenario's baseline: std::hash<std::string_view> (libstdc++'s murmur-based hash).
#include "scenario.hpp"

#include <functional>

namespace shard_bench {
namespace {

struct hasher_std {
  static constexpr char const* name = "std::hash<std::string_view> % 4096";
  std::uint32_t operator()(std::string_view id) const noexcept {
    return static_cast<std::uint32_t>(std::hash<std::string_view>{}(id) % 4096);
  }
};

}  // namespace

system std_hash_system() { return {hasher_std::name, &measure<hasher_std>}; }

}  // namespace shard_bench
