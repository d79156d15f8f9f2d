// The cost of a state store per call: calls/s of an actor that updates its `state` on every call,
// with no store, with SQLite write-through (a file in $TMPDIR) and with Redis write-through (a
// redis-server started here on a free loopback port, no persistence), in one run. One JSON object
// on stdout, with each store's ratio to the no-store figure.
//
//   mesh_bench_store [--calls N] [--ids K]
#include "../../tests/store/bank.hpp"
#include "../../tests/store/temp_dir.hpp"

#include <mesh/store/sqlite.hpp>
#ifdef MESH_BENCH_HAVE_REDIS
#include "../../tests/store/redis_server.hpp"

#include <mesh/store/redis.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

/// Synchronous deposits on the local node, spread over `ids` accounts: calls per second.
double run(std::shared_ptr<mesh::store> st, long calls, int ids) {
  mesh::node_config c;
  c.name = "bench";
  c.workers = 2;
  c.store = std::move(st);
  mesh::node<bank::schema> n{c};
  n.register_capabilities<bank::accounts>();
  std::vector<std::string> names;
  for (int i = 0; i < ids; ++i) names.push_back("acct-" + std::to_string(i));
  for (auto const& id : names) (void)n.call<bank::Account>(id, bank::Deposit{1});  // activate (and claim) first
  auto const t0 = std::chrono::steady_clock::now();
  long failed = 0;
  for (long i = 0; i < calls; ++i)
    if (!n.call<bank::Account>(names[static_cast<std::size_t>(i % ids)], bank::Deposit{1})) ++failed;
  double const s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) std::fprintf(stderr, "mesh_bench_store: %ld calls failed\n", failed);
  return static_cast<double>(calls) / s;
}

}  // namespace

int main(int argc, char** argv) {
  long calls = 20000;
  int ids = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string const a = argv[i];
    if (a == "--calls") calls = std::atol(argv[i + 1]);
    else if (a == "--ids") ids = std::atoi(argv[i + 1]);
  }
  double const none = run(nullptr, calls * 10, ids);  // in memory: many more calls for a stable figure
  temp_dir dir;
  double const sqlite = run(mesh::stores::sqlite(dir.file("bench.db")), calls, ids);
  std::printf("{\"benchmark\": \"store\", \"mesh_version\": \"%s\", \"calls\": %ld, \"ids\": %d,\n", mesh::version_string, calls, ids);
  std::printf(" \"calls_per_s\": {\"no_store\": %.0f, \"sqlite\": %.0f", none, sqlite);
  double redis = 0;
#ifdef MESH_BENCH_HAVE_REDIS
  redis_server server;
  if (server.available()) {
    redis = run(mesh::stores::redis(server.url()), calls, ids);
    std::printf(", \"redis\": %.0f", redis);
  }
#endif
  std::printf("},\n \"ratio_to_no_store\": {\"sqlite\": %.4f", sqlite / none);
  if (redis > 0) std::printf(", \"redis\": %.4f", redis / none);
  std::printf("},\n \"notes\": \"local synchronous calls, one save per call (write-through); SQLite WAL synchronous=NORMAL; "
              "redis-server on loopback without persistence\"}\n");
}
