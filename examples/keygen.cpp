// keygen: prints a fresh cluster secret and its public key (docs/security.md). Give the secret to
// every member of one cluster, like an Erlang cookie; give the public key to whoever lists the
// members' keys (authorized_keys). Run it again for a node key pair of its own.
#include <mesh/transport/curve.hpp>

#include <iostream>

int main() {
  std::string const secret = mesh::generate_cluster_secret();
  auto const keys = mesh::transport::keys_from_secret(secret);
  if (!keys) {
    std::cerr << "keygen: " << keys.error() << "\n";
    return 1;
  }
  std::cout << "cluster secret: " << keys->secret_z85 << "\n"
            << "public key:     " << keys->public_z85 << "\n\n"
            << "Use the secret on every member, in one of these ways:\n"
            << "  export MESH_CLUSTER_SECRET='" << keys->secret_z85 << "'\n"
            << "  (umask 077; mkdir -p ~/.mesh && printf '%s\\n' '" << keys->secret_z85 << "' > ~/.mesh/cluster_secret)\n"
            << "  node_config::cluster_secret = \"" << keys->secret_z85 << "\";\n"
            << "Keep it secret: whoever holds it is a member. The public key is not secret.\n";
}
