#pragma once
/// mesh::node_config: everything a node is configured with.

#include <mesh/core/fwd.hpp>
#include <mesh/core/log.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

namespace mesh {

/// Longest actor id accepted (bytes): ids travel in frame headers, which are bounded. A longer id
/// fails the request with errc::invalid_argument.
inline constexpr std::size_t max_id_bytes = 16 * 1024;

/// What a node does when it is cut off from part of the cluster (docs/fencing.md).
enum class partition_mode : std::uint8_t {
  /// At most one live activation per (actor, id) in the cluster, across pauses and partitions: a
  /// node serves only while in contact with a majority of the members it last agreed on (an even
  /// split keeps the side with the lowest node name); cut off, it fails calls with
  /// errc::no_quorum and drops its activations before any other node takes its shards over.
  keep_majority,
  /// The seed's eventual behaviour: every side of a partition serves every id (two activations
  /// of one id may then live at once, one per side).
  available,
};

/// How a shard's owner is chosen among the nodes hosting a capability (cluster/placement.hpp).
/// Every member of a cluster must use the same one.
enum class placement : std::uint8_t {
  /// The seed's rule: sorted(nodes)[shard % n]. A join or leave moves most shards.
  modulo = 0,
  /// Highest random weight (rendezvous hashing) over (shard, node name): a join moves about 1/n
  /// of the shards, a leave only the leaver's.
  rendezvous = 1,
};

/// Configuration of a mesh::node. An aggregate: set the members you need.
struct node_config {
  /// Unique node name; what nodes_for returns and reply.ref.node names. Empty: "local".
  std::string name{};
  /// ZeroMQ endpoint this node binds (e.g. "tcp://127.0.0.1:7001"). Empty: single-process node.
  std::string listen{};
  /// The endpoint other members reach this node at, when it is not the bound one: `listen` binds
  /// "tcp://*:7001" or "tcp://0.0.0.0:7001", or the node sits behind NAT or in a container
  /// (e.g. "tcp://node-1.mesh.default.svc:7001"). Empty: the bound endpoint.
  std::string advertise{};
  /// Endpoints of existing members to join through. "dns://name:port" is resolved again at each
  /// join attempt to every address the name has (a Kubernetes headless service), each contacted
  /// as "tcp://address:port".
  std::vector<std::string> seeds{};
  /// Number of shards ids hash into (erlang:phash2 range); 1..2^32.
  std::uint64_t shard_count = 4096;
  /// Worker threads running activations. 0: std::thread::hardware_concurrency().
  std::size_t workers = 0;
  /// Deadline of a call that does not set its own timeout.
  std::chrono::milliseconds call_timeout{5000};
  /// Deactivate activations idle this long (0: never). on_deactivate() runs first if present.
  std::chrono::milliseconds idle_timeout{0};
  /// Most messages waiting in one activation's mailbox; beyond it calls fail with errc::overloaded.
  std::size_t mailbox_capacity = 100000;
  /// Largest accepted msgpack body (payload) from the network, in bytes.
  std::size_t max_payload_bytes = 16u << 20;
  /// How long the destructor lets queued work finish before failing it with errc::shutting_down.
  std::chrono::milliseconds shutdown_grace{2000};
  /// Heartbeat period and the silence after which a member is declared dead (cluster mode).
  std::chrono::milliseconds heartbeat_interval{250};
  std::chrono::milliseconds failure_timeout{2000};

  // ---- membership under faults (docs/fencing.md) ---------------------------------------------

  /// keep_majority (default) or available.
  mesh::partition_mode partition_mode = mesh::partition_mode::keep_majority;
  /// keep_majority: how long one heartbeat round trip with a member counts as contact with it. It
  /// must be shorter than failure_timeout, so that a node cut off stops serving before the others
  /// declare it dead and take its shards (0: failure_timeout / 2; longer values are cut to that).
  std::chrono::milliseconds quorum_lease{0};
  /// Cluster mode: the I/O thread runs the handlers of the requests it reads itself (after
  /// releasing the sockets) instead of waking a worker: one thread hand-off less per remote
  /// request, which is most of the latency a remote call adds over a raw ZeroMQ round trip.
  /// While a handler runs there longer than 2 ms, or waits for a call, a relief thread keeps the
  /// node's I/O going (heartbeats, other requests, which then go to the workers), and inlining
  /// pauses (10 ms, doubling up to a second while handlers stay slow). The answers of the
  /// handlers run there leave as one batch frame per requester (docs/wire.md, "Batches"). false:
  /// every remote request runs on a worker, its answer goes alone, and no relief thread. See
  /// docs/architecture.md, "A request's path".
  bool io_thread_runs_handlers = true;
  /// Cluster mode: a thread waiting for a remote reply polls for it this long before it sleeps
  /// (waking a sleeping thread costs about as much as a loopback round trip on many machines).
  /// Adaptive: a thread whose spins keep ending without a reply mostly stops spinning, and at
  /// most half the cores spin at once. 0: always sleep at once. See docs/architecture.md,
  /// "Waiting for a reply".
  std::chrono::microseconds reply_spin{100};
  /// Receives the node's log lines with their level (joins and leaves: info; refusals, bad frames,
  /// dead members: warning; continuations, on_deactivate or timer tasks that threw: error), on the
  /// node's threads, possibly concurrently: `[](mesh::log_level l, std::string_view line) {...}`
  /// (a callable taking only the line works too). Empty: printed to stderr. A logger that throws
  /// does not end the thread that logs: that line goes to stderr instead.
  log_handler logger{};
  /// Lines below this level are dropped (also from stderr).
  mesh::log_level log_level = mesh::log_level::info;

  // ---- actor state and placement (docs/state.md) ---------------------------------------------

  /// Where actors with a `state` member keep it: loaded (and claimed, with a fencing token)
  /// before an activation's first message, saved after each handler that returns normally.
  /// mesh::stores::sqlite(path) (<mesh/store/sqlite.hpp>) or mesh::stores::redis(url)
  /// (<mesh/store/redis.hpp>). Null (default): state lives in memory only.
  std::shared_ptr<mesh::store> store{};
  /// How shards map to owners; every member must use the same placement.
  mesh::placement placement = mesh::placement::modulo;

  // ---- operations (docs/operations.md) -------------------------------------------------------

  /// Count calls by actor and outcome and time them (node::metrics(), mesh::admin_server): a
  /// per-thread counter and a clock read per remote call, one per 64 local calls. false: the
  /// call figures stay zero (the transport and topology figures are still there).
  bool metrics = true;

  // ---- security (docs/security.md) -----------------------------------------------------------

  /// The cluster secret: a CURVE secret key in Z85 (40 characters; mesh::generate_cluster_secret
  /// makes one). Empty: the environment variable MESH_CLUSTER_SECRET, else the file
  /// $HOME/.mesh/cluster_secret (created with mode 0600 holding a fresh secret when missing, so
  /// the nodes of one user on one host agree with no setup). Every member binds its ROUTER as a
  /// CURVE server with it; its public key is the cluster public key.
  std::string cluster_secret{};
  /// This node's own CURVE secret key (Z85), the client key its DEALERs present; empty: the
  /// cluster key pair. With per-node keys, every member lists the others' public keys in
  /// authorized_keys, and one node is revoked by removing its key (see admit_cluster_key).
  std::string node_secret{};
  /// Client public keys (Z85) admitted besides the cluster public key.
  std::vector<std::string> authorized_keys{};
  /// Admit clients presenting the cluster key pair. Turn it off once every member has its own
  /// node_secret: a revoked node still knows the cluster secret, and would get in with it.
  bool admit_cluster_key = true;
  /// Plain TCP, no authentication or encryption: for trusted networks only.
  bool insecure = false;
  /// Most peers (members, seeds, nodes learned by gossip) this node keeps a socket for; gossip
  /// about more is ignored (and logged): one gossiped list cannot exhaust the process's sockets.
  std::size_t max_peers = 512;
  /// Most bytes of outgoing messages queued in ZeroMQ across all connections (replies, requests,
  /// heartbeats not yet taken by the kernel). A peer that never reads its replies loses those
  /// that do not fit (transport_stats::outbound_dropped, logged), while peers that read keep
  /// being served; a request that does not fit fails with errc::overloaded. 0: no cap.
  /// docs/security.md, "Memory under a flood".
  std::size_t max_outbound_bytes = 64u << 20;
  /// Most connections to this node's ROUTER at once (CURVE only; each costs a descriptor and
  /// some 40 KiB): handshakes beyond it are refused (logged). Members, clients and connections
  /// still in their handshake (at most 5 s) all count. 0: no limit.
  std::size_t max_connections = 1024;

  /// A configuration from the environment (the other members keep their defaults): MESH_NAME,
  /// MESH_LISTEN, MESH_ADVERTISE, MESH_SEEDS (comma-separated) and MESH_CLUSTER_SECRET; a variable
  /// that is unset or empty leaves its member at its default.
  static node_config from_env() {
    node_config c;
    auto get = [](char const* variable) -> std::string {
      char const* v = std::getenv(variable);
      return v ? std::string(v) : std::string();
    };
    if (auto v = get("MESH_NAME"); !v.empty()) c.name = v;
    if (auto v = get("MESH_LISTEN"); !v.empty()) c.listen = v;
    if (auto v = get("MESH_ADVERTISE"); !v.empty()) c.advertise = v;
    if (auto v = get("MESH_CLUSTER_SECRET"); !v.empty()) c.cluster_secret = v;
    auto const seeds = get("MESH_SEEDS");
    for (std::size_t at = 0; at < seeds.size();) {
      auto const comma = std::min(seeds.find(',', at), seeds.size());
      auto seed = seeds.substr(at, comma - at);
      auto const first = seed.find_first_not_of(" \t"), last = seed.find_last_not_of(" \t");
      if (first != std::string::npos) c.seeds.push_back(seed.substr(first, last - first + 1));
      at = comma + 1;
    }
    return c;
  }
};

}  // namespace mesh
