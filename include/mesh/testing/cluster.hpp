#pragma once
/// mesh::testing::cluster<Schema>: an N-node cluster inside one process, each node with its own
/// ZeroMQ sockets on loopback, for unit-testing actors against real routing and a real wire.
///
///   mesh::testing::cluster<app> c{3};                 // nodes "n0".."n2", converged
///   c[0].register_capabilities<game>();
///   c.wait_converged();
///   auto r = c[1].call<Player>("p1", Move{1});        // routed to the owner, maybe remote

#include <mesh/node.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
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

  /// (Re)starts member i with its original name, seeded with any running member.
  void start(std::size_t i) {
    node_config cfg = base_;
    cfg.name = prefix_ + std::to_string(i);
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

  node_config base_;
  std::string prefix_;
  std::vector<std::unique_ptr<node<Schema>>> nodes_;
};

}  // namespace mesh::testing
