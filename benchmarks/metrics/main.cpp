// mesh_bench_metrics [--duration S] [--runs N]: calls per second with node_config::metrics on
// and off, in one process, alternating on/off each run so drift hits both alike:
//   local_sequential  n.call on one idle activation (the inline fast path, ~100 ns a call)
//   local_pipelined   call_async over 1000 activations, 256 outstanding (workers run them)
//   remote_sequential n.call to a node over loopback TCP (plain, both nodes in this process)
//   remote_pipelined  call_async to it, 16 outstanding
// Prints one JSON object: per workload the median calls/s on and off and on/off.
#include <mesh/mesh.hpp>

#include "../common/json.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct counters : mesh::capability<"counters"> {};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return total += a.n; }
  long total = 0;
};
using app = mesh::schema<Counter>;

mesh::node_config config(char const* name, bool metrics, bool cluster, std::string seed = {}) {
  mesh::node_config c;
  c.name = name;
  c.metrics = metrics;
  c.logger = [](std::string_view) {};
  if (cluster) {
    c.listen = "tcp://127.0.0.1:*";
    c.insecure = true;
    if (!seed.empty()) c.seeds = {seed};
  }
  return c;
}

/// Calls per second of `batch()` (which makes `per_batch` calls) repeated for `duration`.
template <class F>
double rate(F&& batch, long per_batch, double duration) {
  auto const start = clk::now();
  auto const until = start + std::chrono::duration<double>(duration);
  long calls = 0;
  do {
    batch();
    calls += per_batch;
  } while (clk::now() < until);
  return static_cast<double>(calls) / std::chrono::duration<double>(clk::now() - start).count();
}

std::map<std::string, double> run_once(bool metrics, double duration) {
  std::map<std::string, double> out;
  long errors = 0;
  {
    mesh::node<app> n{config("local", metrics, false)};
    n.register_capabilities<counters>();
    out["local_sequential"] = rate([&] {
      for (int i = 0; i < 1000; ++i) errors += !n.call<Counter>("c", Add{1});
    }, 1000, duration);
    std::vector<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.push_back("a" + std::to_string(i));
    out["local_pipelined"] = rate([&] {
      std::deque<mesh::future<long>> q;
      for (int i = 0; i < 10000; ++i) {
        if (q.size() >= 256) {
          errors += !q.front().get();
          q.pop_front();
        }
        q.push_back(n.call_async<Counter>(ids[static_cast<std::size_t>(i) % ids.size()], Add{1}));
      }
      for (auto& f : q) errors += !f.get();
    }, 10000, duration);
  }
  {
    mesh::node<app> server{config("server", metrics, true)};
    server.register_capabilities<counters>();
    mesh::node<app> client{config("client", metrics, true, server.endpoint())};
    auto const until = clk::now() + 10s;
    while (client.nodes_for<counters>().empty() && clk::now() < until) std::this_thread::sleep_for(5ms);
    out["remote_sequential"] = rate([&] {
      for (int i = 0; i < 200; ++i) errors += !client.call<Counter>("r", Add{1});
    }, 200, duration);
    out["remote_pipelined"] = rate([&] {
      std::deque<mesh::future<long>> q;
      for (int i = 0; i < 2000; ++i) {
        if (q.size() >= 16) {
          errors += !q.front().get();
          q.pop_front();
        }
        q.push_back(client.call_async<Counter>("r", Add{1}));
      }
      for (auto& f : q) errors += !f.get();
    }, 2000, duration);
  }
  if (errors) std::cerr << "mesh_bench_metrics: " << errors << " failed calls\n";
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  double duration = 1.0;
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string const a = argv[i];
    if (a == "--duration") duration = std::atof(argv[i + 1]);
    else if (a == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
  }
  std::map<std::string, std::vector<double>> on, off;
  for (int r = 0; r < runs; ++r)
    for (bool metrics : {r % 2 == 0, r % 2 != 0}) {  // alternate which goes first
      for (auto const& [k, v] : run_once(metrics, duration)) (metrics ? on : off)[k].push_back(v);
    }
  mesh_bench::json_writer j;
  j.begin_object().field("benchmark", "metrics").field("duration_s", duration).field("runs", static_cast<std::size_t>(runs));
  j.key("workloads").begin_object();
  for (auto const& [k, v] : on) {
    double const a = median(v), b = median(off[k]);
    j.key(k).begin_object().field("calls_per_s_metrics_on", a).field("calls_per_s_metrics_off", b).field("on_over_off", b > 0 ? a / b : 0.0);
    j.key("runs_on");
    mesh_bench::write_list(j, v);
    j.key("runs_off");
    mesh_bench::write_list(j, off[k]);
    j.end_object();
  }
  j.end_object().end_object();
  std::cout << j.str() << "\n";
}
