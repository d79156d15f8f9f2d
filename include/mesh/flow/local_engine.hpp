#pragma once
/// detail::local_engine: the registry of a local network's nodes and the scheduler that runs
/// them, and the parts of node_base that reach them (scheduling, wake-ups, stop).

#include <mesh/flow/node_base.hpp>
#include <mesh/flow/node_id.hpp>
#include <mesh/flow/node_info.hpp>
#include <mesh/flow/scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mesh::flow::detail {

/// wait_idle polls first at this interval (a network about to drain is usually idle within
/// microseconds), doubling up to `idle_poll_max` so a long wait does not burn a core.
inline constexpr auto idle_poll_first = std::chrono::microseconds(20);
inline constexpr auto idle_poll_max = std::chrono::milliseconds(2);

/// The registry and scheduler of a local network. Thread-safe.
class local_engine {
 public:
  explicit local_engine(network_config cfg) : cfg_(normalize(std::move(cfg))), sched_(cfg_.workers) {}
  local_engine(local_engine const&) = delete;
  local_engine& operator=(local_engine const&) = delete;
  ~local_engine() {
    sched_.stop();
    std::vector<ref<node_base>> all;
    {
      std::unique_lock lk(reg_mu_);
      for (auto& [id, n] : nodes_) all.push_back(n);
      nodes_.clear();
    }
    for (auto& n : retired_) all.push_back(n);
    retired_.clear();
    for (auto& n : all) n->clear_references();
  }

  network_config const& config() const noexcept { return cfg_; }
  scheduler& sched() noexcept { return sched_; }

  /// The node with this id, or null.
  ref<node_base> find(node_id const& id) const {
    std::shared_lock lk(reg_mu_);
    auto it = nodes_.find(id);
    return it == nodes_.end() ? ref<node_base>{} : it->second;
  }
  /// Every node, in no particular order.
  std::vector<ref<node_base>> all_nodes() const {
    std::shared_lock lk(reg_mu_);
    std::vector<ref<node_base>> out;
    out.reserve(nodes_.size());
    for (auto const& [id, n] : nodes_) out.push_back(n);
    return out;
  }

  /// Serializes changes of the topology (start, stop, connect, disconnect).
  std::mutex& topology() noexcept { return topo_mu_; }

  /// Adds a node (topology lock held by the caller; the id was checked free).
  void insert(ref<node_base> n) {
    std::unique_lock lk(reg_mu_);
    nodes_.emplace(n->id(), std::move(n));
  }
  /// Removes a node (topology lock held by the caller).
  void erase(node_id const& id) {
    ref<node_base> n;
    {
      std::unique_lock lk(reg_mu_);
      auto it = nodes_.find(id);
      if (it == nodes_.end()) return;
      n = std::move(it->second);
      nodes_.erase(it);
    }
    retired_.push_back(n);
    // Forget retired nodes that finished their last turn (nobody else refers to them).
    std::erase_if(retired_, [](ref<node_base> const& r) { return r->idle() && r->stopped() && r->out_ids.empty(); });
  }

  /// Waits until every node is idle (two identical scans), or `timeout` passes.
  bool wait_idle(std::chrono::milliseconds timeout) const {
    auto const until = clock::now() + timeout;
    auto scan = [&](std::uint64_t& total) {
      bool idle = true;
      total = 0;
      for (auto const& n : all_nodes()) {
        total += n->pushed();
        idle = idle && n->idle();
      }
      return idle;
    };
    std::chrono::microseconds pause = idle_poll_first;
    while (true) {
      std::uint64_t a = 0, b = 0;
      if (scan(a) && scan(b) && a == b) return true;
      if (clock::now() >= until) return false;
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, idle_poll_max);
    }
  }

 private:
  static network_config normalize(network_config c) {
    if (c.workers == 0) c.workers = std::max(1u, std::thread::hardware_concurrency());
    if (c.queue_capacity < 2) c.queue_capacity = 2;
    if (c.batch == 0) c.batch = 1;
    return c;
  }

  network_config cfg_;
  scheduler sched_;
  mutable std::shared_mutex reg_mu_;
  std::unordered_map<node_id, ref<node_base>> nodes_;
  std::mutex topo_mu_;
  std::vector<ref<node_base>> retired_;  // stopped nodes, kept until their last turn is over
};

inline void node_base::schedule() {
  if (claimed_.exchange(true, std::memory_order_acq_rel)) return;
  retain();
  engine_.sched().submit(this);
}
inline void node_base::resubmit() {
  retain();
  engine_.sched().submit(this);
}
inline void node_base::wake_waiters() {
  if (!has_waiters_.load(std::memory_order_seq_cst)) return;
  std::vector<ref<node_base>> ws;
  {
    std::lock_guard lk(waiters_mu_);
    ws.swap(waiters_);
    has_waiters_.store(false, std::memory_order_relaxed);
  }
  for (auto& w : ws)
    if (w->parked_.exchange(0, std::memory_order_acq_rel) != 0) engine_.sched().submit(w.detach());
}
inline void node_base::stop() {
  stopped_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard lk(ext_mu_);
    ext_cv_.notify_all();
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_waiters();
  // Let it discard what is queued (and let go of what it holds) on its next turn.
  if (parked_.exchange(0, std::memory_order_acq_rel) != 0) resubmit();
  else schedule();
}

}  // namespace mesh::flow::detail
