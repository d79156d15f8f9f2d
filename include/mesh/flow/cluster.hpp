#pragma once
/// Networks that span the processes of a mesh cluster. A flow node lives in an activation of
/// the actor mesh::flow::host<Logics...> (listed in the schema) whose id is the node id's
/// canonical text: it is placed like any actor, by shard, on the members that registered
/// mesh::flow::flow_capability, and its links and data travel as casts over the cluster's
/// ZeroMQ transport. `mesh::flow::network net{node};` gives the same API as a local network.
/// See docs/flow.md, "Networks across processes".
///
/// node_id_wire.hpp    node_id and node_info in msgpack
/// type_signature.hpp  the cross-process identity of a data type
/// host_messages.hpp   the host actor's messages
/// host_rules.hpp      compile-time rules for logics that cross processes
/// hosted_node.hpp     a node running inside a host activation
/// host.hpp            mesh::flow::host<Logics...> and flow_capability
/// cluster_backend.hpp the network backend over a mesh::node

#include <mesh/flow/network.hpp>
#include <mesh/flow/node_id_wire.hpp>
#include <mesh/flow/type_signature.hpp>
#include <mesh/flow/host_messages.hpp>
#include <mesh/flow/host_rules.hpp>
#include <mesh/flow/hosted_node.hpp>
#include <mesh/flow/host.hpp>
#include <mesh/flow/cluster_backend.hpp>
