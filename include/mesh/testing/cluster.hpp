#pragma once
/// mesh::testing::cluster<Schema>: an N-node cluster inside one process, each node with its own
/// ZeroMQ sockets on loopback, for unit-testing actors against real routing and a real wire.
///
///   mesh::testing::cluster<app> c{3};                 // nodes "n0".."n2", converged
///   c[0].register_capabilities<game>();
///   c.wait_converged();
///   auto r = c[1].call<Player>("p1", Move{1});        // routed to the owner, maybe remote
///
/// Faults, to test actors against what production does to them (docs/fencing.md):
///   c.crash(2);                  // n2 dies without a word: the others notice by failure_timeout
///   c.pause(1); ... c.resume(1); // n1's cluster I/O freezes, as under SIGSTOP or a long GC pause
///   c.partition({{0, 1}, {2}});  // n2 and {n0, n1} stop hearing each other, both ways
///   c.heal();                    // the network is whole again

#include <mesh/node.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mesh::testing {

template <class Schema>
class cluster {
 public:
  /// Starts `n` nodes named prefix0..prefix(n-1) on ephemeral loopback ports, each seeded with the
  /// first, and waits until every node sees every other. `base` is applied to each node's config.
  explicit cluster(std::size_t n, node_config base = {}, std::string prefix = "n") : base_(std::move(base)), prefix_(std::move(prefix)) {
    if (base_.heartbeat_interval > std::chrono::milliseconds(100)) base_.heartbeat_interval = std::chrono::milliseconds(50);
    if (base_.failure_timeout > std::chrono::milliseconds(1000)) base_.failure_timeout = std::chrono::milliseconds(1000);
    if (!base_.logger) base_.logger = [](std::string_view) {};
    nodes_.resize(n);
    for (std::size_t i = 0; i < n; ++i) start(i);
    if (!wait_converged()) throw mesh::exception(fail(errc::timeout, "test cluster did not converge"));
  }

  std::size_t size() const noexcept { return nodes_.size(); }
  node<Schema>& operator[](std::size_t i) { return *nodes_.at(i); }
  bool running(std::size_t i) const { return nodes_.at(i) != nullptr; }

  /// Stops member i gracefully (it leaves the cluster).
  void stop(std::size_t i) { nodes_.at(i).reset(); }

  /// Stops member i as a crash would: no leave is sent, so the others find out by failure detection.
  void crash(std::size_t i) {
    if (auto* s = service(i)) s->faults().silent_close = true;
    nodes_.at(i).reset();
  }

  /// Freezes member i's cluster I/O (no heartbeats, frames or timers) until resume(i): what a
  /// SIGSTOP, a VM migration or a long GC pause does to a member, for its peers and its lease.
  void pause(std::size_t i) {
    if (auto* s = service(i)) s->pause(true);
  }
  void resume(std::size_t i) {
    if (auto* s = service(i)) s->pause(false);
  }

  /// Cuts the network between groups of members (by index), both ways; a running member in no
  /// group is cut off from every other. Replaces any earlier partition.
  void partition(std::vector<std::vector<std::size_t>> const& groups) {
    std::vector<std::size_t> group_of(nodes_.size(), groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g)
      for (auto i : groups[g]) group_of.at(i) = g;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      auto* s = service(i);
      if (!s) continue;
      std::set<std::string> cut;
      for (std::size_t j = 0; j < nodes_.size(); ++j)
        if (j != i && (group_of[i] == groups.size() || group_of[j] != group_of[i])) cut.insert(name(j));
      s->faults().cut_off(std::move(cut));
    }
  }

  /// Ends a partition: every member hears every other again.
  void heal() {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (auto* s = service(i)) s->faults().cut_off({});
  }

  /// The name of member i ("n0"...).
  std::string name(std::size_t i) const { return prefix_ + std::to_string(i); }

  /// (Re)starts member i with its original name, seeded with any running member.
  void start(std::size_t i) {
    node_config cfg = base_;
    cfg.name = name(i);
    cfg.listen = "tcp://127.0.0.1:*";
    cfg.seeds.clear();
    for (auto const& n : nodes_)
      if (n) {
        cfg.seeds.push_back(n->endpoint());
        break;
      }
    nodes_.at(i) = std::make_unique<node<Schema>>(std::move(cfg));
  }

  /// Waits until every running node sees exactly the running members and the same capability
  /// table. Returns false on timeout.
  bool wait_converged(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    auto const until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (converged()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return converged();
  }

 private:
  bool converged() const {
    std::vector<std::string> expected;
    for (auto const& n : nodes_)
      if (n) expected.push_back(n->name());
    std::sort(expected.begin(), expected.end());
    node<Schema> const* first = nullptr;
    for (auto const& n : nodes_) {
      if (!n) continue;
      if (n->cluster_members() != expected) return false;
      if (!first) first = n.get();
      else {
        auto caps = first->all_capabilities();
        if (n->all_capabilities() != caps) return false;
        for (auto const& c : caps)
          if (n->nodes_for(c) != first->nodes_for(c)) return false;
      }
    }
    return true;
  }

  mesh::cluster::service* service(std::size_t i) {
    return nodes_.at(i) ? detail::node_access::core(*nodes_[i]).cluster_service() : nullptr;
  }

  node_config base_;
  std::string prefix_;
  std::vector<std::unique_ptr<node<Schema>>> nodes_;
};

}  // namespace mesh::testing
