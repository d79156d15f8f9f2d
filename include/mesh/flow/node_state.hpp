#pragma once
/// detail::node_state: what every started flow node has, wherever it runs (a local network's
/// worker or a cluster member's host activation): its names, links, counters and the handling
/// of an exception thrown by its logic. node_info snapshots are made here, so both runtimes
/// count and report the same way.

#include <mesh/core/log.hpp>
#include <mesh/flow/bounded_queue.hpp>
#include <mesh/flow/node_id.hpp>
#include <mesh/flow/node_info.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesh::flow::detail {

/// A logic failing on every item must not flood the log, yet a failure that goes on must stay
/// visible: the first few errors of a node are logged, then one in every `error_log_every`.
inline constexpr std::uint64_t error_log_first = 10;
inline constexpr std::uint64_t error_log_every = 1000;

using log_function = std::function<void(std::string_view)>;

/// Names, links, counters and last error of one node. Counters are atomic: node_info reads them
/// from other threads while the node runs.
class node_state {
 public:
  struct names {
    std::string logic;    ///< logic_name<L>()
    std::string options;  ///< summary of the options it was started with
    std::string input;    ///< display name of its input type
    std::string output;   ///< display name of its output type ("void" for a sink)
  };

  /// `logger` receives the error lines (empty: stderr); it must outlive the node.
  node_state(node_id id, names n, log_function const& logger)
      : id_(std::move(id)), names_(std::move(n)), logger_(logger) {}
  node_state(node_state const&) = delete;
  node_state& operator=(node_state const&) = delete;

  node_id const& id() const noexcept { return id_; }
  std::string const& logic_name() const noexcept { return names_.logic; }
  std::string const& options_summary() const noexcept { return names_.options; }
  std::string const& input_name() const noexcept { return names_.input; }
  std::string const& output_name() const noexcept { return names_.output; }

  /// Outgoing link ids in connect order, incoming ones. Guarded by the owner: a local network's
  /// topology lock, a host activation's one-message-at-a-time.
  std::vector<node_id> out_ids, in_ids;

  void count_processed(std::uint64_t n) noexcept { processed_.fetch_add(n, std::memory_order_relaxed); }
  void count_dropped(std::uint64_t n = 1) noexcept { dropped_.fetch_add(n, std::memory_order_relaxed); }
  void count_undeliverable() noexcept { undeliverable_.fetch_add(1, std::memory_order_relaxed); }

  /// An item could not be processed (process() threw, or it did not decode): counted, kept as
  /// last_error and logged (throttled). The node keeps running.
  void on_error(std::string_view what) {
    auto const n = count_error(what);
    if (n <= error_log_first || n % error_log_every == 0)
      mesh::detail::write_log(logger_, "mesh.flow",
                              "node " + id_.to_string() + " (" + names_.logic + "): process() threw (error #" +
                                  std::to_string(n) + "): " + std::string(what) + "; the node keeps running");
  }
  /// An item that reached the node but could not be read (it did not decode): counted as an
  /// error and kept as last_error, not logged (the sender's build differs, not the logic).
  void on_bad_item(std::string_view what) { (void)count_error(what); }
  /// An item addressed to this node was refused before process() (wrong type): counted as
  /// undeliverable, kept as last_error.
  void on_undeliverable(std::string_view what) {
    count_undeliverable();
    set_last_error(what);
  }

  /// A snapshot for node_info(); `queued`, `capacity` and `location` come from the runtime.
  mesh::flow::node_info info(std::uint64_t queued, std::uint64_t capacity, std::string location) const {
    mesh::flow::node_info i;
    i.id = id_;
    i.logic = names_.logic;
    i.options = names_.options;
    i.input_type = names_.input;
    i.output_type = names_.output;
    i.links = out_ids;
    i.location = std::move(location);
    i.processed = processed_.load(std::memory_order_relaxed);
    i.errors = errors_.load(std::memory_order_relaxed);
    i.dropped = dropped_.load(std::memory_order_relaxed);
    i.undeliverable = undeliverable_.load(std::memory_order_relaxed);
    i.queued = queued;
    i.capacity = capacity;
    std::lock_guard lk(error_mu_);
    i.last_error = last_error_;
    return i;
  }

 private:
  std::uint64_t count_error(std::string_view what) {
    auto const n = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
    set_last_error(what);
    return n;
  }
  void set_last_error(std::string_view what) {
    std::lock_guard lk(error_mu_);
    last_error_.assign(what);
  }

  node_id id_;
  names names_;
  log_function const& logger_;
  // Written once per batch by the node's worker; apart from the scheduling flags producers touch.
  alignas(cache_line) std::atomic<std::uint64_t> processed_{0};
  std::atomic<std::uint64_t> errors_{0}, dropped_{0}, undeliverable_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace mesh::flow::detail
