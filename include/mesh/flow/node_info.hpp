#pragma once
/// mesh::flow::node_info and mesh::flow::network_config.

#include <mesh/flow/node_id.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::flow {

/// A snapshot of one node, as node_info(id) returns it.
struct node_info {
  node_id id;                   ///< the node's id
  std::string logic;            ///< the logic's `name`, or its C++ type name
  std::string options;          ///< a one-line summary of the options it was started with
  std::string input_type;       ///< C++ name of the logic's input type
  std::string output_type;      ///< C++ name of the logic's output type ("void" for a sink)
  std::vector<node_id> links;   ///< outgoing links, in the order they were connected
  std::string location;         ///< cluster member hosting it ("" in a local network)
  std::uint64_t processed = 0;  ///< items process() returned from normally
  std::uint64_t errors = 0;     ///< items whose process() threw (the node kept running)
  std::uint64_t dropped = 0;    ///< items it emitted to a node that was stopped meanwhile
  std::uint64_t undeliverable = 0;  ///< send_to calls that failed (unknown id, wrong type)
  std::uint64_t queued = 0;     ///< items waiting in its input queue now
  std::uint64_t capacity = 0;   ///< bound of its input queue
  std::string last_error;       ///< what() of the last exception process() threw
};

/// Settings of a network. An aggregate: set what you need.
struct network_config {
  /// Worker threads running local nodes. 0: std::thread::hardware_concurrency().
  std::size_t workers = 0;
  /// Bound of each node's input queue (rounded up to a power of two).
  std::size_t queue_capacity = 1024;
  /// Items a node processes per turn before it lets other nodes run on its worker.
  std::size_t batch = 256;
  /// How long send_data waits for room in a full input queue before failing with overloaded.
  std::chrono::milliseconds send_timeout{5000};
  /// Receives log lines (a logic threw, ...), on the network's workers. Empty: printed to stderr.
  /// A logger that throws does not end the worker: that line goes to stderr instead.
  std::function<void(std::string_view)> logger{};
};

}  // namespace mesh::flow
