// A dynamic network reconfigured at run time (mesh::flow::network, DataMesh's API):
//
//                 ┌──▶ even ──┐
//   splitter ─────┤           ├──▶ total
//   (send_to by   └──▶ odd  ──┘
//    parity)       then: a "squares" branch is connected while data flows, "odd" is
//                  disconnected and stopped, and node_info / to_dot show the result.
#include <mesh/flow.hpp>

#include <cstdio>
#include <string>
#include <thread>

/// Routes each number to "even" or "odd" by id (targeted send).
struct Splitter {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) {
    (void)out.send_to(v % 2 == 0 ? "even" : "odd", v);
    out.broadcast(v);  // and to whatever is linked (nothing at first)
  }
};

/// Forwards what it gets, counting.
struct Relay {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) {
    ++count;
    out.broadcast(v);
  }
  long retrieve() const { return count; }
  long count = 0;
};

/// Squares, and fails on purpose on 13 (the node keeps running: the error is counted).
struct Squares {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) {
    if (v == 13) throw std::runtime_error("13 is unlucky");
    out.broadcast(v * v);
  }
};

/// Sums everything.
struct Total {
  using input = int;
  void process(int const& v) { sum += v; }
  long retrieve() const { return sum; }
  long sum = 0;
};

int main() {
  mesh::flow::network_config cfg;
  cfg.logger = [](std::string_view line) { std::printf("log: %.*s\n", int(line.size()), line.data()); };
  mesh::flow::network net(cfg);
  auto check = [](mesh::result<void> r, char const* what) {
    if (!r) {
      std::printf("%s failed: %s\n", what, r.error().message.c_str());
      std::exit(1);
    }
  };
  check(net.start_node<Splitter>("splitter"), "start splitter");
  check(net.start_nodes<Relay>({"even", "odd"}), "start relays");
  check(net.start_node<Total>("total"), "start total");
  check(net.connect("even", "total"), "connect even");
  check(net.connect("odd", "total"), "connect odd");

  // Errors are values, and a rejected operation changes nothing:
  auto dup = net.start_node<Total>("total");
  std::printf("start total again: %s\n", std::string(mesh::to_string(dup.error().code)).c_str());
  auto bad = net.send_data("total", "not a number");
  std::printf("send a string to total: %s\n", std::string(mesh::to_string(bad.error().code)).c_str());

  for (int i = 1; i <= 10; ++i) check(net.send_data("splitter", i), "send");
  if (!net.wait_idle()) return 1;
  std::printf("after 1..10: total=%ld (even %ld, odd %ld)\n", *net.retrieve_data<Total>("total"),
              *net.retrieve_data<Relay>("even"), *net.retrieve_data<Relay>("odd"));

  // Reconfigure while data flows: a squares branch appears, the odd branch goes away.
  std::thread feeder([&] {
    for (int i = 11; i <= 20; ++i) check(net.send_data("splitter", i), "send");
  });
  check(net.start_node<Squares>("squares"), "start squares");
  check(net.connect("squares", "total"), "connect squares");
  check(net.connect("splitter", "squares"), "connect splitter -> squares");
  feeder.join();
  if (!net.wait_idle()) return 1;
  check(net.disconnect("odd", "total"), "disconnect odd");
  check(net.stop_node("odd"), "stop odd");

  auto info = *net.node_info("squares");
  std::printf("squares: processed=%lu errors=%lu last_error=\"%s\"\n", static_cast<unsigned long>(info.processed),
              static_cast<unsigned long>(info.errors), info.last_error.c_str());
  std::printf("splitter links:");
  auto const splitter = net.node_info("splitter");
  if (!splitter) return 1;
  for (auto const& id : splitter->links) std::printf(" %s", id.to_string().c_str());
  std::printf("\n%s", net.to_dot().c_str());
  std::printf("dynamic network OK: %zu nodes\n", net.nodes().size());
}
