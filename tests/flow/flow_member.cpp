// mesh_flow_test_member: one cluster member hosting flow nodes, as a real OS process, started by
// the flow system test.
//
//   mesh_flow_test_member --name N --seed EP [--max-lifetime-s S]
//
// Prints "ENDPOINT <bound endpoint>" as its first stdout line, then serves until its stdin
// closes (the test ends or dies), SIGTERM, or --max-lifetime-s. Logs go to stderr.
#include "cluster_schema.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <poll.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

int main(int argc, char** argv) {
  std::string name, seed;
  long max_lifetime_s = 120;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string const a = argv[i];
    if (a == "--name") name = argv[i + 1];
    else if (a == "--seed") seed = argv[i + 1];
    else if (a == "--max-lifetime-s") max_lifetime_s = std::atol(argv[i + 1]);
  }
  if (name.empty()) {
    std::fprintf(stderr, "usage: mesh_flow_test_member --name N [--seed EP] [--max-lifetime-s S]\n");
    return 2;
  }
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
  mesh::node_config cfg;
  cfg.name = name;
  cfg.listen = "tcp://127.0.0.1:*";
  if (!seed.empty()) cfg.seeds = {seed};
  cfg.heartbeat_interval = std::chrono::milliseconds(50);
  cfg.failure_timeout = std::chrono::milliseconds(2000);
  cfg.workers = 2;
  mesh::node<flow_cluster::schema> node(cfg);
  node.register_capabilities<mesh::flow::flow_capability>();
  std::printf("ENDPOINT %s\n", node.endpoint().c_str());
  std::fflush(stdout);
  auto const until = std::chrono::steady_clock::now() + std::chrono::seconds(max_lifetime_s);
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int const n = poll(&p, 1, 100);
    if (n > 0) {
      char buf[64];
      if (read(STDIN_FILENO, buf, sizeof buf) <= 0) break;  // stdin closed: the test is over
    }
  }
  return 0;
}
