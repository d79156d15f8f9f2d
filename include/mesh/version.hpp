#pragma once
/// Library version and wire protocol version.

#define MESH_VERSION_MAJOR 0
#define MESH_VERSION_MINOR 2
#define MESH_VERSION_PATCH 0

namespace mesh {
/// Library version as "major.minor.patch".
inline constexpr char const version_string[] = "0.2.0";
/// Version of the frame layout in docs/wire.md; peers with another version are refused.
inline constexpr unsigned protocol_version = 2;  // 2: heartbeats echo (fencing), call chains
}  // namespace mesh
