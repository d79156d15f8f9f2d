// The remote-call scenario's one signature: every system (mesh.cpp, raw_zmq.cpp, caf.cpp) is a
// server process body and a client that measures against it, with the same cases, rounds and
// payload; main.cpp runs them in turn, a fresh server process per run and system. The timed
// loops are measure() below, instantiated in each system's file with its call and window.
#pragma once

#include <mesh/core/capability.hpp>
#include <mesh/core/fixed_string.hpp>
#include <mesh/core/list.hpp>
#include <mesh/wire/reflect.hpp>  // BOOST_HANA_DEFINE_STRUCT

#include "../common/timed.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace remote_bench {

using bench_clock = std::chrono::steady_clock;

struct echo_cap : mesh::capability<"echo"> {};
struct Blob {
  BOOST_HANA_DEFINE_STRUCT(Blob, (std::string, data));
};
struct Echo {
  static constexpr mesh::fixed_string name = "echo";
  using capability = echo_cap;
  using messages = mesh::list<Blob>;
  explicit Echo(std::string_view) {}
  Blob handle(Blob const& b) { return b; }
};

/// Set by a server process's SIGTERM handler: the server returns.
inline volatile std::sig_atomic_t g_stop = 0;

struct figures {
  double seq_calls_per_s = 0, p50_us = 0, p99_us = 0, pipe16 = 0, pipe256 = 0;
  mesh_bench::timed_totals seq_work, pipe16_work, pipe256_work;
  int errors = 0;  // failed or wrong replies (mesh and caf check them)
};

/// Calls per round: small enough that the duration, not the round, sets a run's length even for
/// the slowest system (~3,000 sequential calls/s on the development VM).
struct round_sizes {
  int sequential = 1'000;
  int pipelined = 10'000;
};

/// Warm-up, then the three timed cases: sequential calls (with their latency), and pipelined
/// calls with 16 and 256 outstanding. `call()` makes one call; `async_window(w, total)` makes
/// `total` calls with at most `w` outstanding.
template <class Call, class Async>
figures measure(Call&& call, Async&& async_window, round_sizes z, double duration_s) {
  using mesh_bench::round_result;
  using mesh_bench::seconds_since;
  figures f;
  for (int i = 0; i < 1000; ++i) call();  // warm up
  mesh_bench::latency_histogram lat;
  f.seq_work = mesh_bench::run_for(duration_s, [&] {
    auto const t0 = bench_clock::now();
    for (int i = 0; i < z.sequential; ++i) {
      auto const a = bench_clock::now();
      call();
      lat.record(std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - a).count());
    }
    return round_result{static_cast<std::uint64_t>(z.sequential), seconds_since(t0)};
  });
  f.seq_calls_per_s = f.seq_work.rate();
  f.p50_us = lat.quantile(0.50) / 1e3;
  f.p99_us = lat.quantile(0.99) / 1e3;
  for (int window : {16, 256}) {
    auto& work = window == 16 ? f.pipe16_work : f.pipe256_work;
    work = mesh_bench::run_for(duration_s, [&] {
      auto const t0 = bench_clock::now();
      async_window(window, z.pipelined);
      return round_result{static_cast<std::uint64_t>(z.pipelined), seconds_since(t0)};
    });
    (window == 16 ? f.pipe16 : f.pipe256) = work.rate();
  }
  return f;
}

/// A system under test.
struct system {
  char const* name;  // its key in the JSON
  /// The server process's body: writes its endpoint (or port) and '\n' to `fd`, serves until SIGTERM.
  std::function<int(int fd)> server;
  /// The client: the three cases against the server at `endpoint`.
  std::function<figures(std::string const& endpoint, std::string const& payload, round_sizes, double duration_s)> client;
};

/// raw_zmq.cpp: cppzmq DEALER -> ROUTER echo with mesh's frames, the transport floor: over plain
/// TCP ("raw_cppzmq"), or with `curve` over CurveZMQ ("raw_cppzmq_curve", a fresh server and
/// client key pair from zmq_curve_keypair).
system raw_zmq_system(bool curve);
/// mesh.cpp: "mesh" (defaults: CURVE with `cluster_secret` on both nodes), "mesh_insecure" (the
/// same with node_config::insecure = true), "mesh_workers" (CURVE; the server runs handlers on a
/// worker) and "mesh_no_spin" (CURVE; the client's node_config::reply_spin = 0), in that order.
std::vector<system> mesh_systems(std::string const& cluster_secret);
#ifdef MESH_BENCH_HAVE_CAF
/// caf.cpp: CAF 0.17's middleman; `scheduler`: "stealing" or "sharing" (both processes).
system caf_system(std::string const& scheduler);
/// "0.17.6".
std::string caf_version();
#endif

// ---- a server process per run and system ------------------------------------------------

template <class F>
std::pair<pid_t, std::string> spawn_server(F f) {
  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    _exit(f(fds[1]));
  }
  close(fds[1]);
  std::string ep;
  char c;
  while (read(fds[0], &c, 1) == 1 && c != '\n') ep.push_back(c);
  close(fds[0]);
  return {pid, ep};
}

inline void stop_server(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

}  // namespace remote_bench
