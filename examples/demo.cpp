// The mesh demo: a game + chat cluster of three OS processes on loopback.
//   node "game-1" (capability game), "chat-1" (chat), and this process, "hub" (game and chat).
// The hub starts the other two as child processes, waits for the cluster to converge, makes
// routed calls and casts, and prints the topology, where each actor ran, and the results.
#include "demo_app.hpp"

#ifdef MESH_DEMO_ADMIN
#include <mesh/admin.hpp>
#endif

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {
volatile std::sig_atomic_t g_stop = 0;

// A member process: joins through `seed`, hosts `cap`, runs until SIGTERM, then leaves.
int run_member(std::string name, std::string cap, std::string seed) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  mesh::node<demo_app> n{mesh::node_config{.name = name, .listen = "tcp://127.0.0.1:*", .seeds = {seed}}};
  n.register_capabilities({cap});
  while (!g_stop) std::this_thread::sleep_for(20ms);
  return 0;
}

pid_t spawn(char const* self, char const* name, char const* cap, std::string const& seed) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, "--member", name, cap, seed.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

void print_list(char const* label, std::vector<std::string> const& v) {
  std::cout << "  " << label << ": [";
  for (std::size_t i = 0; i < v.size(); ++i) std::cout << (i ? ", " : "") << v[i];
  std::cout << "]\n";
}
}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "--member") == 0) return run_member(argv[2], argv[3], argv[4]);

  mesh::node<demo_app> hub{mesh::node_config{.name = "hub", .listen = "tcp://127.0.0.1:*", .logger = [](std::string_view) {}}};
  hub.register_capabilities<game, chat>();
  std::cout << "hub listening on " << hub.endpoint() << "\n";
#ifdef MESH_DEMO_ADMIN
  // The hub's metrics and live cluster page (docs/operations.md); MESH_DEMO_ADMIN=host:port picks the address.
  char const* admin_at = std::getenv("MESH_DEMO_ADMIN");
  mesh::admin_server admin{hub, admin_at && *admin_at ? admin_at : "127.0.0.1:0"};
  std::cout << "dashboard: " << admin.url() << "  (Prometheus: " << admin.url() << "metrics)\n";
#endif

  pid_t game_pid = spawn("/proc/self/exe", "game-1", "game", hub.endpoint());
  pid_t chat_pid = spawn("/proc/self/exe", "chat-1", "chat", hub.endpoint());
  auto cleanup = [&] {
    for (pid_t p : {game_pid, chat_pid}) {
      kill(p, SIGTERM);
      waitpid(p, nullptr, 0);
    }
  };

  auto const until = std::chrono::steady_clock::now() + 10s;
  while ((hub.nodes_for<game>().size() < 2 || hub.nodes_for<chat>().size() < 2) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  if (hub.cluster_members().size() != 3) {
    std::cerr << "cluster did not form\n";
    cleanup();
    return 1;
  }

  std::cout << "cluster topology (seen from hub):\n";
  print_list("members", hub.cluster_members());
  print_list("capabilities", hub.all_capabilities());
  print_list("nodes_for(game)", hub.nodes_for<game>());
  print_list("nodes_for(chat)", hub.nodes_for<chat>());

  int failures = 0;
  std::cout << "\nplayers (routed by shard_for(id) to the owner of 'game'):\n";
  for (std::string id : {"player_123", "player_456", "player_789", "player_1000"}) {
    auto r = hub.call(mesh::request<Player, Move>{.id = id, .payload = Move{1, 2}, .init_arg = Spawn{10, 10}});
    auto owner = hub.owner_node(mesh::shard_for(id), "game");
    if (!r) {
      std::cout << "  " << id << ": error " << r.error() << "\n";
      ++failures;
      continue;
    }
    std::cout << "  " << id << " shard " << mesh::shard_for(id) << " ran on " << r->ref.node << " (owner " << *owner
              << "): position (" << r->value.x << ", " << r->value.y << ") after " << r->value.moves << " move\n";
    if (r->ref.node != *owner) ++failures;
  }

  std::cout << "\nchat (casts, then a call):\n";
  for (std::string room : {"room_456", "lobby", "room_1", "room_2"}) {
    (void)hub.cast<Room>(room, Say{"alice", "hello from the hub"});
    (void)hub.cast<Room>(room, Say{"bob", "hi alice"});
    auto h = hub.call<Room>(room, History{});
    if (!h) {
      std::cout << "  " << room << ": error " << h.error() << "\n";
      ++failures;
      continue;
    }
    std::cout << "  " << room << " (shard " << mesh::shard_for(room) << ") lives on " << h->ref.node << ":\n";
    for (auto const& line : h->value) std::cout << "    " << line << "\n";
  }

  std::cout << "\n1000 pipelined calls with call_async: ";
  std::vector<mesh::future<Position>> futures;
  for (int i = 0; i < 1000; ++i) futures.push_back(hub.call_async<Player>("player_" + std::to_string(i % 50), Where{}));
  std::map<std::string, int> per_node;
  for (auto& f : futures) {
    auto r = f.get();
    if (r) ++per_node[r->ref.node];
    else ++failures;
  }
  for (auto const& [node, n] : per_node) std::cout << node << "=" << n << " ";
  std::cout << "\n";

#ifdef MESH_DEMO_ADMIN
  // MESH_DEMO_LINGER=<seconds>: keep the cluster up that long to look at the dashboard.
  if (char const* linger = std::getenv("MESH_DEMO_LINGER")) {
    std::cout << "dashboard up for " << linger << " s at " << admin.url() << "\n" << std::flush;
    std::this_thread::sleep_for(std::chrono::seconds(std::atoi(linger)));
  }
#endif
  cleanup();
  std::cout << (failures == 0 ? "\ndemo OK\n" : "\ndemo FAILED\n");
  return failures == 0 ? 0 : 1;
}
