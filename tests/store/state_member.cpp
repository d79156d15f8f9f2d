// mesh_state_member: one cluster member hosting bank::accounts with a state store, as a real OS
// process for tests/store/state_processes_test.cpp.
//
//   mesh_state_member --name N --store sqlite:<path>|redis:<url> [--seed EP]
//
// Prints "ENDPOINT <bound endpoint>" as its first stdout line, then serves until SIGTERM or
// SIGKILL; it leaves when its parent dies (Linux) and after 120 s whatever happens.
#include "bank.hpp"

#include <mesh/store/sqlite.hpp>
#ifdef MESH_TEST_HAVE_REDIS
#include <mesh/store/redis.hpp>
#endif

#include <csignal>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>

#include <pthread.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // inherited by the node's threads
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() == 1) return 1;
#endif
  mesh::node_config cfg;
  std::string store;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string const a = argv[i];
    if (a == "--name") cfg.name = argv[i + 1];
    else if (a == "--seed") cfg.seeds.push_back(argv[i + 1]);
    else if (a == "--store") store = argv[i + 1];
  }
  cfg.listen = "tcp://127.0.0.1:*";
  cfg.insecure = true;  // loopback test cluster: no secret files
  cfg.heartbeat_interval = std::chrono::milliseconds(50);
  cfg.failure_timeout = std::chrono::milliseconds(1000);
  cfg.shutdown_grace = std::chrono::milliseconds(300);
  cfg.workers = 2;
  try {
    if (store.rfind("sqlite:", 0) == 0) cfg.store = mesh::stores::sqlite(store.substr(7));
#ifdef MESH_TEST_HAVE_REDIS
    else if (store.rfind("redis:", 0) == 0) cfg.store = mesh::stores::redis(store.substr(6));
#endif
    else {
      std::fprintf(stderr, "mesh_state_member: --store sqlite:<path> or redis:<url> is required\n");
      return 2;
    }
    mesh::node<bank::schema> n{cfg};
    n.register_capabilities<bank::accounts>();
    std::printf("ENDPOINT %s\n", n.endpoint().c_str());
    std::fflush(stdout);
    timespec limit{};
    limit.tv_sec = 120;
    sigtimedwait(&stop, nullptr, &limit);
    return 0;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "mesh_state_member %s: %s\n", cfg.name.c_str(), e.what());
    return 1;
  }
}
