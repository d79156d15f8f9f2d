// mesh_test_node: one cluster member as a real OS process, started by the system tests.
//
//   mesh_test_node --name N [--listen EP] [--seed EP]... [--caps game,chat,relay] [--alt-schema]
//                  [--heartbeat-ms MS] [--failure-timeout-ms MS] [--max-lifetime-s S]
//                  [--node-secret S] [--authorized-key K]... [--revoke-on-usr1 K] [--journal FILE]
//
// Prints "ENDPOINT <bound endpoint>" as its first stdout line, then serves until SIGTERM/SIGINT
// (graceful: the node's destructor leaves the cluster; exit status 0) or SIGKILL. It also exits
// gracefully when its parent dies (Linux) or after --max-lifetime-s, so a crashed test run
// leaves no process behind. --alt-schema builds the node from app::alt_schema (another
// fingerprint). --revoke-on-usr1: SIGUSR1 makes the node revoke client key K (node::revoke_key).
// Logs go to stderr.
#include "app_schema.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <pthread.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace {

struct options {
  std::string name;
  std::string listen = "tcp://127.0.0.1:*";
  std::vector<std::string> seeds;
  std::vector<std::string> caps;
  bool alt_schema = false;
  long heartbeat_ms = 100;
  long failure_timeout_ms = 2000;
  long max_lifetime_s = 300;
  std::string node_secret;
  std::vector<std::string> authorized_keys;
  std::string revoke_on_usr1;
  std::string journal;  // --journal FILE: every Add handled, one line each (fencing tests)
};

[[noreturn]] void usage(char const* why) {
  std::fprintf(stderr,
               "mesh_test_node: %s\nusage: mesh_test_node --name N [--listen EP] [--seed EP]... [--caps a,b] "
               "[--alt-schema] [--heartbeat-ms MS] [--failure-timeout-ms MS] [--max-lifetime-s S] [--node-secret S] "
               "[--authorized-key K]... [--revoke-on-usr1 K]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--name") o.name = value();
    else if (a == "--listen") o.listen = value();
    else if (a == "--seed") o.seeds.push_back(value());
    else if (a == "--caps") {
      std::stringstream ss(value());
      for (std::string c; std::getline(ss, c, ',');)
        if (!c.empty()) o.caps.push_back(c);
    } else if (a == "--alt-schema") o.alt_schema = true;
    else if (a == "--heartbeat-ms") o.heartbeat_ms = std::stol(value());
    else if (a == "--failure-timeout-ms") o.failure_timeout_ms = std::stol(value());
    else if (a == "--max-lifetime-s") o.max_lifetime_s = std::stol(value());
    else if (a == "--node-secret") o.node_secret = value();
    else if (a == "--authorized-key") o.authorized_keys.push_back(value());
    else if (a == "--revoke-on-usr1") o.revoke_on_usr1 = value();
    else if (a == "--journal") o.journal = value();
    else usage(("unknown argument " + a).c_str());
  }
  if (o.name.empty()) usage("--name is required");
  return o;
}

template <class Schema>
int serve(options const& o, sigset_t const& stop_signals) {
  mesh::node_config cfg;
  cfg.name = o.name;
  cfg.listen = o.listen;
  cfg.seeds = o.seeds;
  cfg.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_ms);
  cfg.failure_timeout = std::chrono::milliseconds(o.failure_timeout_ms);
  cfg.shutdown_grace = std::chrono::milliseconds(500);
  cfg.workers = 2;
  cfg.node_secret = o.node_secret;
  cfg.authorized_keys = o.authorized_keys;
  std::FILE* journal = o.journal.empty() ? nullptr : std::fopen(o.journal.c_str(), "a");
  std::mutex journal_lock;
  if (journal) {
    // One line per Add handled: id, amount, activation instance, CLOCK_MONOTONIC ns (the test
    // process reads the same clock), flushed so that a SIGKILL loses nothing written.
    app::add_journal() = [&](std::string_view id, long amount, std::uint64_t instance) {
      timespec ts{};
      clock_gettime(CLOCK_MONOTONIC, &ts);
      std::lock_guard lk(journal_lock);
      std::fprintf(journal, "%.*s %ld %llu %lld\n", static_cast<int>(id.size()), id.data(), amount,
                   static_cast<unsigned long long>(instance), static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
      std::fflush(journal);
    };
  }
  mesh::node<Schema> n{cfg};
  app::install_hooks(n);
  if (!o.caps.empty()) n.register_capabilities(o.caps);
  std::printf("ENDPOINT %s\n", n.endpoint().c_str());
  std::fflush(stdout);

  timespec limit{};
  limit.tv_sec = o.max_lifetime_s;
  for (;;) {
    int const sig = sigtimedwait(&stop_signals, nullptr, &limit);
    if (sig < 0 && errno == EINTR) continue;  // e.g. SIGCONT after a SIGSTOP (the fencing tests)
    if (sig == SIGUSR1) {
      auto r = n.revoke_key(o.revoke_on_usr1);
      std::fprintf(stderr, "mesh_test_node %s: revoke_key: %s\n", o.name.c_str(), r ? "done" : r.error().message.c_str());
      continue;
    }
    if (sig < 0) std::fprintf(stderr, "mesh_test_node %s: lifetime limit reached, leaving\n", o.name.c_str());
    return 0;  // ~node leaves the cluster
  }
}

}  // namespace

int main(int argc, char** argv) {
  options const o = parse(argc, argv);

  // Every thread the node starts inherits this mask, so the signals wait for sigtimedwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // the test process died: leave too
  if (getppid() == 1) return 1;      // it died before prctl
#endif

  try {
    return o.alt_schema ? serve<app::alt_schema>(o, stop_signals) : serve<app::schema>(o, stop_signals);
  } catch (std::exception const& e) {
    std::fprintf(stderr, "mesh_test_node %s: %s\n", o.name.c_str(), e.what());
    return 1;
  }
}
