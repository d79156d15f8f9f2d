#pragma once
/// mesh::flow (DataMesh): typed processing networks. This umbrella brings in the local runtime,
/// compile-time graphs and, with <mesh/mesh.hpp>'s node, networks spanning a cluster.
/// A local-only user may include <mesh/flow/network.hpp> and <mesh/flow/graph.hpp> alone: they
/// pull in neither msgpack nor ZeroMQ.

#include <mesh/flow/network.hpp>
#include <mesh/flow/graph.hpp>
