// mesh_partition_client: a cluster member with no capability that calls counters continuously and
// logs every call, for tests/system/partition_test.sh (a network partition in namespaces).
//
//   mesh_partition_client --name N --listen EP --seed EP... --out FILE --stop-file PATH
//                         [--ids K] [--threads T] [--timeout-ms MS] [--pause-ms MS]
//                         [--amount-base B] [--hosts H] [--heartbeat-ms MS] [--failure-timeout-ms MS]
//                         [--max-s S]
//
// Joins through the seeds, waits until H nodes host "game" and every id "p-0".."p-<K-1>" has
// answered once, prints "READY", then T threads call Add on their share of the ids in turn (one
// call in flight per thread, each with a deadline of --timeout-ms, --pause-ms between calls) until
// PATH exists (or --max-s). Every Add carries a unique amount (from --amount-base), so the
// members' --journal files tell where each call ran. One line per call in FILE:
//
//   id amount errc sent_ns done_ns node
//
// errc is the mesh::errc number (0: ok), times are CLOCK_MONOTONIC ns (steady_clock), node is the
// node that answered ("-" on failure). Exits 0, leaving the cluster gracefully.
#include "app_schema.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct options {
  std::string name, listen, out, stop_file;
  std::vector<std::string> seeds;
  long ids = 60, threads = 4, timeout_ms = 300, pause_ms = 5, amount_base = 1, hosts = 3;
  long heartbeat_ms = 50, failure_timeout_ms = 1000, max_s = 100;
};

[[noreturn]] void usage(char const* why) {
  std::fprintf(stderr, "mesh_partition_client: %s (see the head of partition_client.cpp)\n", why);
  std::exit(2);
}

long long now_ns() { return static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count()); }

}  // namespace

int main(int argc, char** argv) {
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
    else if (a == "--out") o.out = value();
    else if (a == "--stop-file") o.stop_file = value();
    else if (a == "--ids") o.ids = std::stol(value());
    else if (a == "--threads") o.threads = std::stol(value());
    else if (a == "--timeout-ms") o.timeout_ms = std::stol(value());
    else if (a == "--pause-ms") o.pause_ms = std::stol(value());
    else if (a == "--amount-base") o.amount_base = std::stol(value());
    else if (a == "--hosts") o.hosts = std::stol(value());
    else if (a == "--heartbeat-ms") o.heartbeat_ms = std::stol(value());
    else if (a == "--failure-timeout-ms") o.failure_timeout_ms = std::stol(value());
    else if (a == "--max-s") o.max_s = std::stol(value());
    else usage(("unknown argument " + a).c_str());
  }
  if (o.name.empty() || o.listen.empty() || o.out.empty() || o.stop_file.empty()) usage("--name, --listen, --out and --stop-file are required");

  try {
    mesh::node_config cfg;
    cfg.name = o.name;
    cfg.listen = o.listen;
    cfg.seeds = o.seeds;
    cfg.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_ms);
    cfg.failure_timeout = std::chrono::milliseconds(o.failure_timeout_ms);
    cfg.shutdown_grace = 300ms;
    cfg.workers = 2;
    mesh::node<app::schema> n{cfg};
    auto const timeout = std::chrono::milliseconds(o.timeout_ms);
    auto const give_up = steady::now() + std::chrono::seconds(o.max_s);
    auto id_of = [](long k) { return "p-" + std::to_string(k); };

    // Convergence: every host visible, every id answering.
    for (;;) {
      if (steady::now() > give_up) {
        std::fprintf(stderr, "%s: no convergence\n", o.name.c_str());
        return 1;
      }
      bool ready = static_cast<long>(n.nodes_for("game").size()) >= o.hosts;
      for (long k = 0; ready && k < o.ids; ++k) ready = n.call<app::Counter>(id_of(k), app::Get{}, timeout).has_value();
      if (ready) break;
      std::this_thread::sleep_for(50ms);
    }
    std::printf("READY\n");
    std::fflush(stdout);

    std::FILE* out = std::fopen(o.out.c_str(), "w");
    if (!out) usage("cannot open --out");
    std::mutex out_lock;
    std::atomic<bool> stop{false};
    std::atomic<long> next_amount{o.amount_base};
    std::vector<std::thread> threads;
    for (long t = 0; t < o.threads; ++t)
      threads.emplace_back([&, t] {
        for (long round = 0; !stop.load(); ++round) {
          long const k = t + o.threads * (round % ((o.ids + o.threads - 1 - t) / o.threads));
          std::string const id = id_of(k);
          long const amount = next_amount.fetch_add(1);
          auto const sent = now_ns();
          auto r = n.call<app::Counter>(id, app::Add{amount}, timeout);
          auto const done = now_ns();
          {
            std::lock_guard lk(out_lock);
            std::fprintf(out, "%s %ld %u %lld %lld %s\n", id.c_str(), amount,
                         r ? 0U : static_cast<unsigned>(r.error().code), sent, done, r ? r->ref.node.c_str() : "-");
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
        }
      });
    while (!std::filesystem::exists(o.stop_file) && steady::now() < give_up) std::this_thread::sleep_for(20ms);
    stop = true;
    for (auto& t : threads) t.join();
    std::fclose(out);
    return 0;  // ~node leaves the cluster
  } catch (std::exception const& e) {
    std::fprintf(stderr, "mesh_partition_client %s: %s\n", o.name.c_str(), e.what());
    return 1;
  }
}
