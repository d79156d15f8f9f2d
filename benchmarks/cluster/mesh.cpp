// The remote-call scenario on mesh: a client node calls an Echo actor hosted by a server node.
#include <mesh/mesh.hpp>

#include "scenario.hpp"

#include <chrono>
#include <csignal>
#include <deque>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;

namespace remote_bench {
namespace {

using bench_app = mesh::schema<Echo>;

/// Security of both nodes of a run: CURVE with one explicit cluster secret, or plain TCP.
struct security {
  std::string cluster_secret;
  bool insecure = false;
};

int run_mesh_server(int fd, bool io_thread_runs_handlers, security const& sec) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  mesh::node_config cfg{.name = "server", .listen = "tcp://127.0.0.1:*", .logger = [](std::string_view) {}};
  cfg.io_thread_runs_handlers = io_thread_runs_handlers;
  cfg.cluster_secret = sec.cluster_secret;
  cfg.insecure = sec.insecure;
  mesh::node<bench_app> n{cfg};
  n.register_capabilities<echo_cap>();
  std::string ep = n.endpoint() + "\n";
  if (write(fd, ep.data(), ep.size()) < 0) return 1;
  while (!g_stop) std::this_thread::sleep_for(10ms);
  return 0;
}

figures bench_mesh(std::string const& ep, std::string const& payload, round_sizes z, double duration_s,
                   std::chrono::microseconds reply_spin, security const& sec) {
  mesh::node<bench_app> n{mesh::node_config{.name = "client",
                                            .listen = "tcp://127.0.0.1:*",
                                            .seeds = {ep},
                                            .reply_spin = reply_spin,
                                            .logger = [](std::string_view) {},
                                            .cluster_secret = sec.cluster_secret,
                                            .insecure = sec.insecure}};
  auto until = bench_clock::now() + 10s;
  while (n.nodes_for<echo_cap>().empty() && bench_clock::now() < until) std::this_thread::sleep_for(5ms);
  int errors = 0;
  auto call = [&] {
    auto r = n.call<Echo>("e1", Blob{payload});
    if (!r || r->value.data.size() != payload.size()) ++errors;
  };
  auto window = [&](int w, int total) {
    std::deque<mesh::future<Blob>> q;
    for (int i = 0; i < total; ++i) {
      if (static_cast<int>(q.size()) >= w) {
        if (!q.front().get()) ++errors;
        q.pop_front();
      }
      q.push_back(n.call_async<Echo>("e1", Blob{payload}));
    }
    for (auto& f : q)
      if (!f.get()) ++errors;
  };
  auto f = measure(call, window, z, duration_s);
  if (errors) std::cerr << "mesh: " << errors << " failed calls\n";
  f.errors = errors;
  return f;
}

}  // namespace

std::vector<system> mesh_systems(std::string const& cluster_secret) {
  // "mesh": default configuration (CURVE on; the server's I/O thread runs the echo handler itself);
  // "mesh_insecure": the same with node_config::insecure = true on both nodes (plain TCP);
  // "mesh_workers": the server sets node_config::io_thread_runs_handlers = false (a worker runs it).
  // "mesh_no_spin": default server; the client sets node_config::reply_spin = 0 (a caller sleeps
  // at once while it waits for a reply, as the raw client does in zmq_recv).
  // Every CURVE configuration gives both nodes `cluster_secret` explicitly (not the environment or
  // $HOME/.mesh/cluster_secret); the server process gets it through the fork (captured here).
  auto make = [](char const* name, bool inline_handlers, std::chrono::microseconds reply_spin, security sec) {
    return system{name, [inline_handlers, sec](int fd) { return run_mesh_server(fd, inline_handlers, sec); },
                  [reply_spin, sec](std::string const& ep, std::string const& payload, round_sizes z,
                                    double duration_s) { return bench_mesh(ep, payload, z, duration_s, reply_spin, sec); }};
  };
  auto const default_spin = mesh::node_config{}.reply_spin;
  security const curve{cluster_secret, false}, plain{{}, true};
  return {make("mesh", true, default_spin, curve), make("mesh_insecure", true, default_spin, plain),
          make("mesh_workers", false, default_spin, curve),
          make("mesh_no_spin", true, std::chrono::microseconds(0), curve)};
}

}  // namespace remote_bench
