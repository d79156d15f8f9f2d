#pragma once
/// mesh: distributed virtual actors and dataflow networks for C++20.
/// The umbrella header: everything a user program needs, including Boost.Hana's struct
/// reflection macros (BOOST_HANA_DEFINE_STRUCT, BOOST_HANA_ADAPT_STRUCT).

#include <mesh/version.hpp>
#include <mesh/core/fixed_string.hpp>
#include <mesh/core/list.hpp>
#include <mesh/core/capability.hpp>
#include <mesh/core/error.hpp>
#include <mesh/core/actor_traits.hpp>
#include <mesh/core/schema.hpp>
#include <mesh/wire/reflect.hpp>
#include <mesh/wire/check_serializable.hpp>
#include <mesh/wire/fingerprint.hpp>
#include <mesh/wire/codec.hpp>
#include <mesh/wire/frame.hpp>
#include <mesh/cluster/shard.hpp>
#include <mesh/cluster/membership.hpp>
#include <mesh/config.hpp>
#include <mesh/actor/reply.hpp>
#include <mesh/actor/future.hpp>
#include <mesh/actor/context.hpp>
#include <mesh/actor/task.hpp>
#include <mesh/actor/invoke.hpp>
#include <mesh/node.hpp>
// DataMesh (mesh::flow): local networks, compile-time graphs, and networks across the cluster.
// <mesh/flow.hpp> alone is enough for local-only use (no msgpack, no ZeroMQ).
#include <mesh/flow.hpp>
#include <mesh/flow/cluster.hpp>
