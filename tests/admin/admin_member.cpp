// mesh_admin_member: one cluster member as a real OS process, for the admin tests.
//   mesh_admin_member NAME [SEED]
// Hosts capability "ops", serves mesh::admin_server on 127.0.0.1:0, prints "ENDPOINT <ep>" and
// "ADMIN <port>" on stdout, and runs until its stdin closes (the test ends or dies).
#include "ops_schema.hpp"

#include <mesh/admin.hpp>

#include <cstdio>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: mesh_admin_member NAME [SEED]\n");
    return 2;
  }
  mesh::node_config c;
  c.name = argv[1];
  c.listen = "tcp://127.0.0.1:*";
  if (argc > 2) c.seeds = {argv[2]};
  c.heartbeat_interval = std::chrono::milliseconds(50);
  c.workers = 2;
  c.insecure = true;
  mesh::node<ops::schema> n{c};
  n.register_capabilities<ops::ops_cap>();
  mesh::admin_server admin{n, "127.0.0.1:0"};
  std::printf("ENDPOINT %s\nADMIN %u\n", n.endpoint().c_str(), static_cast<unsigned>(admin.port()));
  std::fflush(stdout);
  char buf[64];
  while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  return 0;
}
