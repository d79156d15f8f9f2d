#pragma once
/// transport::security: how an endpoint authenticates, made from a node's configuration
/// (docs/security.md, API.md §5).

#include <mesh/config.hpp>
#include <mesh/core/error.hpp>
#include <mesh/transport/curve.hpp>
#include <mesh/transport/zap.hpp>

#include <string>
#include <utility>
#include <vector>

namespace mesh::transport {

/// How an endpoint authenticates (docs/security.md). Without `curve` it speaks plain TCP.
struct security {
  bool curve = true;
  curve_keys server;                  ///< the cluster key pair: the ROUTER's, and the server key DEALERs expect
  curve_keys client;                  ///< this node's client key pair (its own, or the cluster pair)
  std::vector<std::string> admitted;  ///< client public keys (Z85) the ZAP handler admits
  zap_handler::refused_callback on_refused{};
  bool admit_cluster_key = true;      ///< `admitted` holds the cluster public key (kept by authorize_keys)
  /// Handshakes refused over node_config::max_connections: the client's address.
  std::function<void(std::string_view peer_address)> on_over_budget{};
};

/// The security of a node configured by `cfg`: none with `insecure`, else CURVE with the cluster
/// secret (config, MESH_CLUSTER_SECRET, $HOME/.mesh/cluster_secret), the node's own key pair
/// (node_secret) or the cluster's as client keys, and the admitted client keys (authorized_keys,
/// plus the cluster public key unless admit_cluster_key is off). Throws mesh::exception
/// (invalid_argument, unauthorized for a loose secret file) naming what is wrong: a node must not
/// start on a secret it cannot use.
[[gnu::cold]] inline security security_for(node_config const& cfg) {
  security s;
  if (cfg.insecure) {
    s.curve = false;
    return s;
  }
  auto secret = resolve_cluster_secret(cfg.cluster_secret);
  if (!secret) throw mesh::exception(secret.error());
  auto server = keys_from_secret(*secret);
  if (!server) throw mesh::exception(server.error());
  s.server = *server;
  s.client = s.server;
  if (!cfg.node_secret.empty()) {
    auto own = keys_from_secret(cfg.node_secret);
    if (!own) throw mesh::exception(fail(errc::invalid_argument, "node_secret: " + own.error().message));
    s.client = *own;
  }
  auto keys = validate_public_keys(cfg.authorized_keys);
  if (!keys) throw mesh::exception(fail(errc::invalid_argument, "authorized_keys: " + keys.error().message));
  s.admitted = std::move(*keys);
  s.admit_cluster_key = cfg.admit_cluster_key;
  if (cfg.admit_cluster_key) s.admitted.push_back(s.server.public_z85);
  return s;
}

}  // namespace mesh::transport
