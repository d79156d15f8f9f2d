// The remote-call scenario on the C++ Actor Framework 0.17 (libcaf-dev; built only when CMake
// found it, MESH_BENCH_HAVE_CAF): a scoped_actor requests an echo actor that another process
// published through CAF's middleman (BASP over TCP); the reply is checked to be the payload.
#include "scenario.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <deque>
#include <iostream>
#include <string>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;

namespace remote_bench {
namespace {

std::string g_caf_scheduler = "stealing";  // --caf-scheduler; forked servers inherit it

// CAF: as many scheduler threads as mesh's workers (node_config::workers = 0: hardware
// concurrency), the middleman (its own I/O thread) loaded; everything else CAF's defaults.
struct caf_config : caf::actor_system_config {
  caf_config() {
    load<caf::io::middleman>();
    set("scheduler.max-threads", static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
    set("scheduler.policy", g_caf_scheduler == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  }
};

caf::behavior caf_echo() {
  return {[](std::string const& s) -> std::string { return s; }};  // a copy, as Echo returns one
}

// Prints the published port (not an endpoint) on the pipe.
int run_caf_server(int fd) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  caf_config cfg;
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(caf_echo);
  auto port = sys.middleman().publish(echo, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "caf server: publish failed: " << sys.render(port.error()) << "\n";
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::string ep = std::to_string(*port) + "\n";
  if (write(fd, ep.data(), ep.size()) < 0) return 1;
  while (!g_stop) std::this_thread::sleep_for(10ms);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return 0;
}
figures bench_caf(std::string const& port, std::string const& payload, round_sizes z, double duration_s) {
  caf_config cfg;
  caf::actor_system sys{cfg};
  figures failed;
  failed.errors = 1;
  if (port.empty()) return failed;
  auto server = sys.middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(std::stoul(port)));
  if (!server) {
    std::cerr << "caf: remote_actor failed: " << sys.render(server.error()) << "\n";
    return failed;
  }
  caf::actor const echo = *server;
  caf::scoped_actor self{sys};
  int errors = 0;
  auto on_reply = [&](std::string const& r) {
    if (r != payload) ++errors;
  };
  auto on_error = [&](caf::error& e) {
    if (errors++ == 0) std::cerr << "caf: first failed call: " << sys.render(e) << "\n";
  };
  // No per-request timeout (caf::infinite): CAF then arms no timer for the request.
  auto call = [&] { self->request(echo, caf::infinite, payload).receive(on_reply, on_error); };
  using handle = decltype(self->request(echo, caf::infinite, payload));
  auto window = [&](int w, int total) {
    std::deque<handle> q;
    for (int i = 0; i < total; ++i) {
      if (static_cast<int>(q.size()) >= w) {
        q.front().receive(on_reply, on_error);
        q.pop_front();
      }
      q.push_back(self->request(echo, caf::infinite, payload));
    }
    for (auto& h : q) h.receive(on_reply, on_error);
  };
  auto f = measure(call, window, z, duration_s);
  if (errors) std::cerr << "caf: " << errors << " failed calls\n";
  f.errors = errors;
  return f;
}

}  // namespace

system caf_system(std::string const& scheduler) {
  g_caf_scheduler = scheduler;
  return {"caf", [](int fd) { return run_caf_server(fd); },
          [](std::string const& port, std::string const& payload, round_sizes z, double duration_s) {
            return bench_caf(port, payload, z, duration_s);
          }};
}

std::string caf_version() {
  return std::to_string(CAF_MAJOR_VERSION) + "." + std::to_string(CAF_MINOR_VERSION) + "." +
         std::to_string(CAF_PATCH_VERSION);
}

}  // namespace remote_bench
