// Handoff of stateful activations (docs/state.md, "Handoff"): node a holds N accounts (each with
// a balance); node b joins and the shards it now owns move to it with their state; then b leaves
// gracefully and they move back. Times from the join (b's construction) / the leave (b's
// destructor) until every node holds exactly the activations it owns, and every balance checked
// afterwards. One JSON object on stdout.
//
//   mesh_bench_handoff [--activations N] [--heartbeat-ms H]
#include "../../tests/store/bank.hpp"

#include <mesh/cluster/placement.hpp>
#include <mesh/cluster/shard.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;
using bank_node = mesh::node<bank::schema>;

mesh::node_config config(std::string name, std::vector<std::string> seeds, std::chrono::milliseconds hb) {
  mesh::node_config c;
  c.name = std::move(name);
  c.listen = "tcp://127.0.0.1:*";
  c.seeds = std::move(seeds);
  c.heartbeat_interval = hb;
  c.failure_timeout = 20 * hb;
  c.workers = 2;
  c.logger = [](std::string_view) {};
  return c;
}

std::size_t activations(bank_node const& n) {
  for (auto const& a : n.metrics().actors)
    if (a.actor == "account") return a.activations;
  return 0;
}

template <class Pred>
bool wait_until(Pred&& pred, std::chrono::seconds timeout) {
  auto const until = steady::now() + timeout;
  while (!pred()) {
    if (steady::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

double ms_since(steady::time_point t0) { return std::chrono::duration<double, std::milli>(steady::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  long n = 100000;
  long hb_ms = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string const a = argv[i];
    if (a == "--activations") n = std::atol(argv[i + 1]);
    else if (a == "--heartbeat-ms") hb_ms = std::atol(argv[i + 1]);
  }
  auto const hb = std::chrono::milliseconds(hb_ms);
  std::vector<std::string> ids;
  for (long i = 0; i < n; ++i) ids.push_back("acct-" + std::to_string(i));

  bank_node a{config("a", {}, hb)};
  a.register_capabilities<bank::accounts>();
  for (long i = 0; i < n; ++i)
    if (!a.call<bank::Account>(ids[static_cast<std::size_t>(i)], bank::Deposit{i + 1})) return std::fprintf(stderr, "deposit failed\n"), 1;

  std::vector<std::string> const hosts{"a", "b"};
  std::size_t to_b = 0;
  for (auto const& id : ids)
    if (hosts[mesh::cluster::owner_index(a.config().placement, mesh::shard_for(id, a.config().shard_count), hosts)] == "b") ++to_b;

  auto t0 = steady::now();
  auto b = std::make_unique<bank_node>(config("b", {a.endpoint()}, hb));
  b->register_capabilities<bank::accounts>();
  bool const joined = wait_until([&] { return activations(*b) == to_b && activations(a) == static_cast<std::size_t>(n) - to_b; },
                                 std::chrono::seconds(120));
  double const join_ms = ms_since(t0);

  long intact = 0;
  for (long i = 0; i < n; ++i) {
    auto r = a.call<bank::Account>(ids[static_cast<std::size_t>(i)], bank::Deposit{0});
    if (r && r->value == i + 1) ++intact;
  }
  auto const moved_in = b->metrics().handoffs_in;

  t0 = steady::now();
  b.reset();
  bool const left = wait_until([&] { return activations(a) == static_cast<std::size_t>(n); }, std::chrono::seconds(120));
  double const leave_ms = ms_since(t0);
  long intact_after_leave = 0;
  for (long i = 0; i < n; ++i) {
    auto r = a.call<bank::Account>(ids[static_cast<std::size_t>(i)], bank::Balance{});
    if (r && r->value == i + 1) ++intact_after_leave;
  }

  std::printf("{\"benchmark\": \"handoff\", \"mesh_version\": \"%s\", \"activations\": %ld, \"heartbeat_ms\": %ld,\n",
              mesh::version_string, n, hb_ms);
  std::printf(" \"join\": {\"moved\": %zu, \"installed\": %llu, \"settled\": %s, \"ms\": %.1f, \"intact\": %ld},\n", to_b,
              static_cast<unsigned long long>(moved_in), joined ? "true" : "false", join_ms, intact);
  std::printf(" \"leave\": {\"moved\": %zu, \"settled\": %s, \"ms\": %.1f, \"intact\": %ld},\n", to_b, left ? "true" : "false", leave_ms,
              intact_after_leave);
  std::printf(" \"notes\": \"loopback TCP, no store; join: from b's construction until both nodes hold exactly what they own "
              "(includes b's handshake and up to one heartbeat before a's rebalancer pass); leave: from b's destructor until a "
              "holds all\"}\n");
  return joined && left && intact == n && intact_after_leave == n ? 0 : 1;
}
