#pragma once
// CURVE settings for tests that speak to a node as a raw ZeroMQ peer holding the cluster secret
// (an insider): the nodes of a test run resolve the same secret (MESH_CLUSTER_SECRET, else
// $HOME/.mesh/cluster_secret), and so do these helpers.

#include <mesh/transport/curve.hpp>

#include <doctest/doctest.h>
#include <zmq.hpp>

namespace testing_keys {

inline mesh::transport::curve_keys cluster_keys() {
  auto secret = mesh::transport::resolve_cluster_secret("");
  REQUIRE_MESSAGE(secret.has_value(), "no cluster secret: " << secret.error().message);
  auto keys = mesh::transport::keys_from_secret(*secret);
  REQUIRE(keys.has_value());
  return *keys;
}

/// `s` (a DEALER) connects as a member would: CURVE client with the cluster key pair.
inline void as_cluster_client(zmq::socket_t& s) {
  auto const k = cluster_keys();
  s.set(zmq::sockopt::curve_serverkey, k.public_z85);
  s.set(zmq::sockopt::curve_publickey, k.public_z85);
  s.set(zmq::sockopt::curve_secretkey, k.secret_z85);
}

/// `s` (a ROUTER, before bind) serves as a member does: CURVE server with the cluster secret.
inline void as_cluster_server(zmq::socket_t& s) {
  auto const k = cluster_keys();
  s.set(zmq::sockopt::curve_server, 1);
  s.set(zmq::sockopt::curve_secretkey, k.secret_z85);
}

}  // namespace testing_keys
