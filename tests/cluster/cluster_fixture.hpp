#pragma once
// Shared by the cluster tests: nodes on loopback with fast heartbeats, convergence waits, and a
// raw ZeroMQ DEALER that speaks to a node as a foreign peer holding the cluster secret.
#include "app_schema.hpp"
#include "cluster_keys.hpp"

#include <doctest/doctest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>  // zmq::recv_multipart

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cluster_fixture {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using app_node = mesh::node<app::schema>;
using names = std::vector<std::string>;

inline long elapsed_ms(steady::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(steady::now() - since).count());
}

template <class Pred>
inline bool wait_until(Pred&& pred, milliseconds timeout = 5000ms) {
  auto const until = steady::now() + timeout;
  while (!pred()) {
    if (steady::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

inline mesh::node_config config(std::string name, std::vector<std::string> seeds = {}) {
  mesh::node_config c;
  c.name = std::move(name);
  c.listen = "tcp://127.0.0.1:*";
  c.seeds = std::move(seeds);
  c.heartbeat_interval = 50ms;
  c.failure_timeout = 1000ms;
  c.shutdown_grace = 300ms;
  c.workers = 2;
  c.logger = [](std::string_view) {};
  return c;
}

inline std::unique_ptr<app_node> start(std::string name, std::vector<std::string> seeds = {}) {
  return std::make_unique<app_node>(config(std::move(name), std::move(seeds)));
}

/// Waits until every node sees `hosts` for "game" and `members` as the cluster.
inline bool converged(std::vector<app_node*> const& nodes, names const& members, names const& hosts) {
  return wait_until([&] {
    for (auto* n : nodes)
      if (n->cluster_members() != members || n->nodes_for<app::game>() != hosts) return false;
    return true;
  });
}

/// "host" hosts game; "caller" hosts nothing, so its calls are always remote.
struct pair_fixture {
  std::unique_ptr<app_node> host = start("host");
  std::unique_ptr<app_node> caller = start("caller", {host->endpoint()});
  pair_fixture() {
    host->register_capabilities<app::game>();
    REQUIRE(converged({host.get(), caller.get()}, {"caller", "host"}, {"host"}));
  }
};

/// A bare ZeroMQ DEALER connected to a node's ROUTER, as a foreign peer.
struct raw_dealer {
  zmq::context_t ctx;
  zmq::socket_t d{ctx, zmq::socket_type::dealer};
  raw_dealer(std::string const& endpoint, int rcvtimeo_ms) {
    d.set(zmq::sockopt::linger, 0);
    d.set(zmq::sockopt::rcvtimeo, rcvtimeo_ms);
    testing_keys::as_cluster_client(d);
    d.connect(endpoint);
  }
};

/// A raw ROUTER that plays a seed holding the cluster secret: a node given `endpoint` as its
/// seed heartbeats it, and the test reads and answers as a member would.
struct fake_seed {
  zmq::context_t ctx;
  zmq::socket_t s{ctx, zmq::socket_type::router};
  std::string endpoint;
  fake_seed() {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvtimeo, 3000);
    testing_keys::as_cluster_server(s);
    s.bind("tcp://127.0.0.1:*");
    endpoint = s.get(zmq::sockopt::last_endpoint);
  }
};

/// Sends the parts of `f` as one message.
inline void send_raw(zmq::socket_t& d, mesh::wire::frame const& f) {
  auto const parts = mesh::wire::encode_frame(f);
  for (std::size_t i = 0; i < parts.size(); ++i)
    (void)d.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

/// Sends one raw frame to `endpoint`'s ROUTER from a DEALER and returns the answer, if any.
inline std::optional<mesh::wire::frame> raw_request(std::string const& endpoint, mesh::wire::frame const& f) {
  raw_dealer peer(endpoint, 3000);
  auto& d = peer.d;
  send_raw(d, f);
  std::vector<zmq::message_t> in;
  if (!zmq::recv_multipart(d, std::back_inserter(in))) return std::nullopt;
  std::vector<std::string_view> views;
  for (auto& m : in) views.emplace_back(m.data<char>(), m.size());
  auto r = mesh::wire::decode_frame(views);
  if (!r) return std::nullopt;
  return std::move(*r);
}

inline mesh::wire::frame counter_call(std::string id, std::uint32_t message_index, std::string body) {
  mesh::wire::frame f;
  f.h.k = mesh::wire::kind::call;
  f.h.request_id = 77;
  f.h.fingerprint = mesh::wire::fingerprint_v<app::schema>;
  f.h.actor = "counter";
  f.h.id = std::move(id);
  f.h.message_index = message_index;
  f.h.timeout_ms = 2000;
  f.body.push_back(std::move(body));
  return f;
}

}  // namespace cluster_fixture
