#pragma once
/// transport::endpoint: a node's ZeroMQ sockets. One ROUTER bound to the node's address, where
/// requests, control messages and most answers arrive, and one DEALER per peer it talks to.
/// It sends and receives wire frames (batches taken apart into their frames) and counts them; it
/// knows frames, not actors or members. Not thread-safe: whoever holds the I/O lock
/// (transport::io_loop) uses it.

#include <mesh/core/clock.hpp>
#include <mesh/core/error.hpp>
#include <mesh/transport/outbound_budget.hpp>
#include <mesh/transport/security.hpp>
#include <mesh/transport/zap.hpp>
#include <mesh/wire/frame.hpp>

#include <zmq.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mesh::transport {

/// Messages a socket queues per direction before a send fails (the caller gets errc::overloaded
/// instead of the process growing without bound).
inline constexpr int socket_hwm = 100'000;
/// How long a closed DEALER keeps trying to deliver what it still holds (a leave message).
inline constexpr int dealer_linger_ms = 200;
/// How soon a DEALER reconnects to a peer that went away (a restart is rejoined quickly).
inline constexpr int reconnect_interval_ms = 100;
/// Room above node_config::max_payload_bytes for a frame's header and envelope: libzmq drops a
/// message over its maxmsgsize before we see it.
inline constexpr std::size_t frame_overhead_bytes = 64 * 1024;
/// Messages read from one socket per pass of the I/O loop, so that one busy peer cannot keep the
/// others (and the timers) waiting.
inline constexpr int max_reads_per_pass = 1024;
/// Undecodable frames after which a peer (by routing id) is ignored.
inline constexpr std::uint64_t bad_frames_tolerated = 100;
/// How long a connection may take to complete its handshake (libzmq's default is 30 s): a
/// half-open or silent connection is closed after it, so a flood of them holds descriptors
/// and memory only this long.
inline constexpr int handshake_timeout_ms = 5000;
/// Offenders remembered for bad frames; past it, those still tolerated are forgotten (a flood of
/// fresh identities cannot grow the table without bound).
inline constexpr std::size_t max_offenders = 4096;
/// After this many bytes or connections released, memory is given back to the system
/// (malloc_trim), at most once per trim_interval.
inline constexpr std::int64_t trim_after_bytes = 16 << 20;
inline constexpr std::uint64_t trim_after_disconnects = 256;
inline constexpr auto trim_interval = std::chrono::seconds(1);

/// Resource limits of an endpoint (node_config::max_outbound_bytes, max_connections).
struct endpoint_limits {
  std::size_t max_outbound_bytes = 64u << 20;
  std::size_t max_connections = 1024;
};

/// The "tcp://address:port" endpoints of a "dns://name:port" seed: every address the name has now
/// (IPv4 and IPv6, IPv6 in brackets), in the order getaddrinfo gives them. Blocks while it resolves.
inline result<std::vector<std::string>> resolve_dns_seed(std::string_view seed) {
  std::string_view rest = seed.substr(std::string_view("dns://").size());
  auto const colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size())
    return fail(errc::invalid_argument, "seed '" + std::string(seed) + "' is not dns://name:port");
  std::string const host(rest.substr(0, colon)), port(rest.substr(colon + 1));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return fail(errc::not_found, "cannot resolve seed '" + std::string(seed) + "': " + ::gai_strerror(rc));
  std::vector<std::string> out;
  for (auto* a = found; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    void const* where = a->ai_family == AF_INET6 ? static_cast<void const*>(&reinterpret_cast<sockaddr_in6 const*>(a->ai_addr)->sin6_addr)
                                                 : static_cast<void const*>(&reinterpret_cast<sockaddr_in const*>(a->ai_addr)->sin_addr);
    if (!::inet_ntop(a->ai_family, where, text, sizeof text)) continue;
    std::string ep = a->ai_family == AF_INET6 ? "tcp://[" + std::string(text) + "]:" + port : "tcp://" + std::string(text) + ":" + port;
    if (std::find(out.begin(), out.end(), ep) == out.end()) out.push_back(std::move(ep));
  }
  ::freeaddrinfo(found);
  return out;
}

/// Counters of an endpoint (monotonic; read from any thread).
struct counters {
  std::atomic<std::uint64_t> frames_in{0}, frames_out{0}, bad_frames{0}, send_failures{0};
  std::atomic<std::uint64_t> bytes_in{0}, bytes_out{0};  ///< ZeroMQ message parts, routing ids excluded
  /// Frames not sent because max_outbound_bytes was reached (also in send_failures).
  std::atomic<std::uint64_t> outbound_dropped{0};
  /// Frames dropped because their connection's key is no longer admitted (revoked).
  std::atomic<std::uint64_t> revoked_frames{0};
};

/// One outgoing connection: a DEALER connected to a peer's ROUTER.
struct dealer {
  std::string address;   ///< the peer's endpoint
  zmq::socket_t socket;
  int fd = -1;           ///< its ZMQ_FD, polled while the I/O lock is free
  bool armed = false;    ///< drained: its ZMQ_FD will signal the next message (see io_loop)
  bool read_now = true;  ///< read at the next pass whatever poll(2) says (new, or backlog)
  void* owner = nullptr; ///< what the layer above keeps for this connection (cluster: its peer)
  std::shared_ptr<outbound_queue> queue;  ///< its bytes queued in libzmq (outbound_budget)
};

class endpoint {
 public:
  /// Binds the ROUTER to `listen` (a CURVE server behind a ZAP handler when `sec.curve`). Throws
  /// mesh::exception (errc::invalid_argument) when it cannot.
  endpoint(std::string const& listen, std::size_t max_payload_bytes, security sec, endpoint_limits lim = {})
      : ctx_(1), sec_(std::move(sec)), router_(ctx_, zmq::socket_type::router), max_payload_(max_payload_bytes),
        budget_(lim.max_outbound_bytes), admitted_(sec_.admitted) {
    if (sec_.curve) {
      // The ZAP handler must be bound before the ROUTER: libzmq admits every client of a CURVE
      // server whose context has no handler. It also keeps the connection budget, from the
      // ROUTER's monitor.
      static std::atomic<std::uint64_t> monitors{0};
      std::string const monitor = "inproc://mesh.monitor." + std::to_string(monitors.fetch_add(1) + 1);
      zap_.emplace(ctx_, sec_.admitted, sec_.on_refused,
                   zap_connection_budget{monitor, lim.max_connections, sec_.on_over_budget});
      router_.set(zmq::sockopt::curve_server, 1);
      router_.set(zmq::sockopt::curve_secretkey, sec_.server.secret_z85);
      if (zmq_socket_monitor(router_.handle(), monitor.c_str(), ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
        throw mesh::exception(fail(errc::invalid_argument, std::string("cannot monitor the ROUTER: ") + zmq_strerror(zmq_errno())));
    }
    router_.set(zmq::sockopt::handshake_ivl, handshake_timeout_ms);
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.set(zmq::sockopt::sndhwm, socket_hwm);
    router_.set(zmq::sockopt::rcvhwm, socket_hwm);
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::maxmsgsize, max_message_size());
    try {
      router_.bind(listen);
    } catch (zmq::error_t const& e) {
      throw mesh::exception(fail(errc::invalid_argument, "cannot bind '" + listen + "': " + e.what()));
    }
    address_ = router_.get(zmq::sockopt::last_endpoint);
    router_fd_ = router_.get(zmq::sockopt::fd);
  }

  endpoint(endpoint const&) = delete;
  endpoint& operator=(endpoint const&) = delete;

  /// The address actually bound (resolves "tcp://127.0.0.1:*").
  std::string const& address() const noexcept { return address_; }
  int router_fd() const noexcept { return router_fd_; }
  counters& stats() noexcept { return stats_; }
  counters const& stats() const noexcept { return stats_; }

  /// A new DEALER connected to `address`.
  [[gnu::cold]] std::unique_ptr<dealer> open_dealer(std::string const& address) {
    auto d = std::make_unique<dealer>();
    d->address = address;
    d->socket = zmq::socket_t(ctx_, zmq::socket_type::dealer);
    auto& s = d->socket;
    s.set(zmq::sockopt::sndhwm, socket_hwm);
    s.set(zmq::sockopt::rcvhwm, socket_hwm);
    s.set(zmq::sockopt::linger, dealer_linger_ms);
    s.set(zmq::sockopt::reconnect_ivl, reconnect_interval_ms);
    s.set(zmq::sockopt::maxmsgsize, max_message_size());
    s.set(zmq::sockopt::handshake_ivl, handshake_timeout_ms);
    if (sec_.curve) {
      s.set(zmq::sockopt::curve_serverkey, sec_.server.public_z85);
      s.set(zmq::sockopt::curve_publickey, sec_.client.public_z85);
      s.set(zmq::sockopt::curve_secretkey, sec_.client.secret_z85);
    }
    s.connect(address);
    d->fd = s.get(zmq::sockopt::fd);
    d->queue = budget_.make_queue(address);
    return d;
  }

  /// Whether `address` is one open_dealer may connect to: "tcp://host:port" (a name, IPv4 or
  /// [IPv6] host, port 1-65535) or "ipc://path". Anything a peer gossips is checked first: a
  /// malformed endpoint must be an error, not an exception in the I/O thread.
  static bool valid_address(std::string_view a) noexcept {
    constexpr std::size_t max_address = 256;
    if (a.size() > max_address) return false;
    if (a.starts_with("ipc://")) return a.size() > 6 && a.find('\0') == std::string_view::npos;
    if (!a.starts_with("tcp://")) return false;
    a.remove_prefix(6);
    auto const colon = a.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    auto host = a.substr(0, colon), port = a.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    unsigned p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      p = p * 10 + static_cast<unsigned>(c - '0');
    }
    if (p == 0 || p > 65535) return false;
    if (host.front() == '[') return host.size() > 2 && host.back() == ']' && host.find_first_not_of("0123456789abcdefABCDEF:.", 1) == host.size() - 1;
    for (char c : host)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
    return true;
  }

  /// Called (I/O lock held) for a bad frame from a peer: what it is known by, and why.
  using bad_frame_callback = std::function<void(std::string_view peer, std::string_view why)>;
  void on_bad_frame(bad_frame_callback cb) { on_bad_ = std::move(cb); }

  /// The ZAP handler (CURVE only): its counters, and set_admitted for revocation.
  zap_handler* authenticator() noexcept { return zap_ ? &*zap_ : nullptr; }

  /// Called (I/O lock held) when output to a peer is dropped over max_outbound_bytes: who, and
  /// the bytes queued in total.
  using over_cap_callback = std::function<void(std::string_view peer, std::int64_t queued)>;
  void on_over_cap(over_cap_callback cb) { on_over_cap_ = std::move(cb); }
  /// Called (I/O lock held) the first time a message arrives from routing id `rid` on a
  /// connection whose key was revoked (authorize_keys, revoke_key): drop what it stands for.
  using revoked_callback = std::function<void(std::string const& rid, std::string_view key)>;
  void on_revoked(revoked_callback cb) { on_revoked_ = std::move(cb); }

  /// The bytes queued in libzmq for sending now, over all connections (outbound_budget).
  std::int64_t outbound_bytes() const noexcept { return budget_.queued(); }

  /// Replaces the client keys admitted besides the cluster key (node_config::authorized_keys):
  /// new handshakes at once, and messages on connections already open whose key is no longer
  /// admitted are dropped from now on. invalid_argument (naming the entry) for a malformed key;
  /// invalid_argument without CURVE. Thread-safe.
  result<void> authorize_keys(std::vector<std::string> const& keys) {
    if (!zap_) return fail(errc::invalid_argument, "this node does not use CURVE (insecure): it admits no keys");
    auto valid = validate_public_keys(keys);
    if (!valid) return fail(errc::invalid_argument, "authorized_keys: " + valid.error().message);
    std::lock_guard lk(admitted_m_);
    admitted_ = std::move(*valid);
    if (sec_.admit_cluster_key) admitted_.push_back(sec_.server.public_z85);
    zap_->set_admitted(admitted_);
    revocations_.fetch_add(1, std::memory_order_release);
    return {};
  }
  /// Stops admitting `key` (Z85): like authorize_keys without it. not_found when it was not
  /// admitted. Revoking the cluster public key shuts out every member using the cluster key pair.
  result<void> revoke_key(std::string_view key) {
    if (!zap_) return fail(errc::invalid_argument, "this node does not use CURVE (insecure): it admits no keys");
    std::lock_guard lk(admitted_m_);
    auto const before = admitted_.size();
    std::erase(admitted_, key);
    if (admitted_.size() == before) return fail(errc::not_found, "key '" + std::string(key) + "' is not admitted");
    zap_->set_admitted(admitted_);
    revocations_.fetch_add(1, std::memory_order_release);
    return {};
  }

  /// Housekeeping at each tick (I/O lock): forgets the per-connection state of connections with
  /// nothing queued, and gives memory back to the system after large releases.
  [[gnu::cold]] void prune(mesh::detail::clock::time_point now) {
    rq_cache_.reset();
    rq_cache_rid_.clear();
    std::erase_if(router_queues_, [](auto const& e) {
      return e.second.use_count() == 1 && e.second->bytes.load(std::memory_order_relaxed) == 0;
    });
    if (bad_by_peer_.size() > max_offenders)
      std::erase_if(bad_by_peer_, [](auto const& e) { return e.second <= bad_frames_tolerated; });
    if (revoked_rids_.size() > max_offenders) revoked_rids_.clear();
    auto const queued = budget_.queued();
    peak_queued_ = std::max(peak_queued_, queued);
    std::uint64_t const gone = zap_ ? zap_->disconnected_count() : 0;
    if ((peak_queued_ - queued >= trim_after_bytes || gone - disconnects_at_trim_ >= trim_after_disconnects) &&
        now - last_trim_ >= trim_interval) {
#if defined(__GLIBC__)
      ::malloc_trim(0);  // freed pipes and connections stay in the process otherwise
#endif
      last_trim_ = now;
      peak_queued_ = queued;
      disconnects_at_trim_ = gone;
    }
  }

  /// Closes the ROUTER (the node leaves; DEALERs close with their owners), then stops the ZAP
  /// handler: its thread calls the node's logger, which must not run while the node is destroyed.
  void close() {
    router_.close();
    zap_.reset();
  }

  // ---- sending ---------------------------------------------------------------------------------

  /// A frame's parts without building them: the header (encoded into a buffer of ours), then
  /// the body as is. Valid until the next call.
  using frame_views = std::array<std::string_view, 1 + wire::body_parts::capacity>;
  std::span<std::string_view const> views_of(wire::frame const& f, frame_views& parts) {
    wire::encode_header_to(tx_header_, f.h);
    parts[0] = tx_header_;
    for (std::size_t i = 0; i < f.body.size(); ++i) parts[1 + i] = f.body[i];
    return {parts.data(), 1 + f.body.size()};
  }
  /// The wire frames a frame carries (a batch counts as its frames).
  static std::uint64_t frame_count(wire::frame const& f) noexcept { return f.h.k == wire::kind::batch ? f.h.frames : 1u; }

  /// Sends `f` on DEALER `d`; false (counted) when the peer's queue is full, max_outbound_bytes
  /// is reached, or the peer is gone.
  bool send(dealer& d, wire::frame const& f) {
    frame_views parts;
    return send_views(d.socket, d.armed, views_of(f, parts), nullptr, frame_count(f), d.queue);
  }
  /// Sends `f` through the ROUTER to the peer whose DEALER has identity `routing_id`.
  bool send_to(std::string_view routing_id, wire::frame const& f) {
    frame_views parts;
    return send_views(router_, router_armed_, views_of(f, parts), &routing_id, frame_count(f), router_queue(routing_id));
  }
  /// Sends one message of `parts` on `d` or (null) through the ROUTER to `routing_id`.
  bool send_parts(dealer* d, std::string_view routing_id, std::span<std::string_view const> parts, std::uint64_t frames) {
    if (d) return send_views(d->socket, d->armed, parts, nullptr, frames, d->queue);
    return send_views(router_, router_armed_, parts, &routing_id, frames, router_queue(routing_id));
  }

  // ---- receiving -------------------------------------------------------------------------------

  /// Reads the ROUTER until it is drained (or max_reads_per_pass): `on(rid, frame&&)` for every
  /// frame, a batch's frames one by one. Undecodable input is counted; a peer that sent more than
  /// bad_frames_tolerated of it is ignored.
  template <class OnFrame, class OnBadCall>
  int read_router(OnFrame&& on, OnBadCall&& on_bad_call) {
    auto& parts = rx_parts_;
    int n = 0;
    router_armed_ = false;
    for (; n < max_reads_per_pass; ++n) {
      if (!recv_all(router_)) {
        router_armed_ = true;  // drained (or failed: nothing to read either)
        break;
      }
      ++stats_.frames_in;
      if (rx_n_ < 2) {
        ++stats_.bad_frames;
        continue;
      }
      auto& rid = rx_rid_;
      rid.assign(parts[0].data<char>(), parts[0].size());
      if (revocations_.load(std::memory_order_relaxed) != 0 && from_revoked(rid)) {
        ++stats_.revoked_frames;
        continue;
      }
      if (!bad_by_peer_.empty())
        if (auto it = bad_by_peer_.find(offender(rid)); it != bad_by_peer_.end() && it->second > bad_frames_tolerated) {
          ++stats_.bad_frames;
          continue;
        }
      if (auto ok = decode(1); !ok) {
        ++stats_.bad_frames;
        note_bad(rid, ok.error().code == errc::too_large ? "a frame over max_payload_bytes" : "an undecodable frame");
        // A call whose header is readable gets its error (too_large, bad_message) instead of
        // nothing: its caller need not wait for its deadline.
        if (wire::decode_header_into(std::string_view(parts[1].data<char>(), parts[1].size()), rx_bad_header_, limits()) &&
            rx_bad_header_.k == wire::kind::call)
          on_bad_call(static_cast<std::string const&>(rid), static_cast<wire::header const&>(rx_bad_header_), ok.error());
        continue;
      }
      if (rx_frame_.h.k == wire::kind::batch) {
        --stats_.frames_in;  // counted per frame it holds
        if (!unbatch([&](wire::frame& f) { on(static_cast<std::string const&>(rid), std::move(f)); })) note_bad(rid, "a bad batch");
        continue;
      }
      on(static_cast<std::string const&>(rid), std::move(rx_frame_));
    }
    return n;
  }

  /// Reads DEALER `d` like read_router: `on(frame&)` for every frame. `on_message()` runs once
  /// per message received (the peer is alive).
  template <class OnFrame, class OnMessage>
  int read_dealer(dealer& d, OnFrame&& on, OnMessage&& on_message) {
    int n = 0;
    d.armed = false;
    d.read_now = false;
    for (; n < max_reads_per_pass; ++n) {
      if (!recv_all(d.socket)) {
        d.armed = true;
        break;
      }
      ++stats_.frames_in;
      if (!decode(0)) {
        ++stats_.bad_frames;
        continue;
      }
      on_message();
      if (rx_frame_.h.k == wire::kind::batch) {
        --stats_.frames_in;  // counted per frame it holds
        unbatch(on);
      } else {
        on(rx_frame_);
      }
    }
    if (n == max_reads_per_pass) d.read_now = true;  // more may be waiting: its ZMQ_FD will not tell
    return n;
  }

  /// True when the ROUTER is disarmed and holds a message (asking ZMQ_EVENTS arms it otherwise).
  bool router_has_message() {
    if (router_armed_) return false;
    if (router_.get(zmq::sockopt::events) & ZMQ_POLLIN) return true;
    router_armed_ = true;
    return false;
  }
  bool router_armed() const noexcept { return router_armed_; }
  /// Forgets what the last poll said: every socket is read once at the next pass.
  void disarm_router() noexcept { router_armed_ = false; }

 private:
  /// Who a bad frame from ROUTER identity `rid` is held against: its authenticated key when it
  /// has one of its own (a per-node key: reconnecting under a new identity does not reset its
  /// count), else its identity (the cluster key is shared by every member).
  std::string const& offender(std::string const& rid) {
    if (sec_.curve && rx_n_ > 1)
      if (char const* uid = zmq_msg_gets(rx_parts_[1].handle(), "User-Id"); uid && sec_.server.public_z85 != uid) {
        rx_offender_.assign("key:").append(uid);
        return rx_offender_;
      }
    return rid;
  }

  /// True when the connection `rid` came on presents a key that is no longer admitted (only
  /// asked once something was revoked: a lookup per message).
  bool from_revoked(std::string const& rid) {
    char const* uid = zap_ ? zmq_msg_gets(rx_parts_[1].handle(), "User-Id") : nullptr;
    if (!uid || zap_->is_admitted(uid)) return false;
    if (revoked_rids_.insert(rid).second && on_revoked_) on_revoked_(rid, uid);
    return true;
  }

  /// The queue of the connection with routing id `rid` at the ROUTER, made when new.
  std::shared_ptr<outbound_queue> const& router_queue(std::string_view rid) {
    if (rq_cache_ && rq_cache_rid_ == rid) return rq_cache_;
    rq_key_.assign(rid);
    auto it = router_queues_.find(rq_key_);
    if (it == router_queues_.end()) it = router_queues_.emplace(rq_key_, budget_.make_queue(describe(rq_key_))).first;
    rq_cache_rid_.assign(rid);
    rq_cache_ = it->second;
    return rq_cache_;
  }

  /// A ROUTER peer for the log: its identity, and its address and key when the last message
  /// read came from it.
  [[gnu::cold]] std::string describe(std::string const& rid) {
    std::string out = "identity 0x" + hex(rid);
    if (rx_n_ > 1 && rid == rx_rid_) {
      if (char const* addr = zmq_msg_gets(rx_parts_[1].handle(), "Peer-Address")) out += std::string(" at ") + addr;
      if (char const* uid = sec_.curve ? zmq_msg_gets(rx_parts_[1].handle(), "User-Id") : nullptr) out += std::string(" (key ") + uid + ")";
    }
    return out;
  }

  [[gnu::cold]] void note_bad(std::string const& rid, std::string_view why) {
    auto const& who = offender(rid);
    ++bad_by_peer_[who];
    if (on_bad_) {
      std::string peer = who.starts_with("key:") ? who : "identity 0x" + hex(rid);
      if (char const* addr = rx_n_ > 1 ? zmq_msg_gets(rx_parts_[1].handle(), "Peer-Address") : nullptr) peer += std::string(" at ") + addr;
      on_bad_(peer, why);
    }
  }

  static std::string hex(std::string_view b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (char ch : b) {
      auto const c = static_cast<unsigned char>(ch);
      out += digits[c >> 4];
      out += digits[c & 15];
    }
    return out;
  }

  [[gnu::cold]] void over_cap(outbound_queue const& q, std::uint64_t frames) {
    stats_.send_failures += frames;
    stats_.outbound_dropped += frames;
    if (on_over_cap_) on_over_cap_(q.peer, budget_.queued());
  }

  std::int64_t max_message_size() const noexcept { return static_cast<std::int64_t>(max_payload_ + frame_overhead_bytes); }

  /// Sends one message of `parts` (`frames`: the wire frames it carries, for the counters).
  /// The last part carries the message's charge against `q` (outbound_budget).
  bool send_views(zmq::socket_t& s, bool& armed, std::span<std::string_view const> parts,
                  std::string_view const* routing_id, std::uint64_t frames, std::shared_ptr<outbound_queue> const& q) {
    std::size_t const n = parts.size();
    auto const charge = outbound_budget::charge_of(parts, routing_id != nullptr);
    if (!budget_.admits(*q, charge)) [[unlikely]] {
      over_cap(*q, frames);
      return false;
    }
    armed = false;  // the send may process the socket's commands (see io_loop, "who may touch the sockets")
    try {
      if (routing_id && !s.send(zmq::buffer(*routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        stats_.send_failures += frames;
        return false;
      }
      for (std::size_t i = 0; i + 1 < n; ++i) {
        if (!s.send(zmq::buffer(parts[i]), zmq::send_flags::dontwait | zmq::send_flags::sndmore)) {
          stats_.send_failures += frames;
          return false;
        }
      }
      zmq::message_t last;
      if (!outbound_budget::charged_message(last, parts[n - 1], q, charge) || !s.send(last, zmq::send_flags::dontwait)) {
        stats_.send_failures += frames;
        return false;
      }
    } catch (zmq::error_t const&) {  // EHOSTUNREACH (router_mandatory): the peer is gone
      stats_.send_failures += frames;
      return false;
    }
    stats_.frames_out += frames;
    std::size_t bytes = 0;
    for (auto const& p : parts) bytes += p.size();
    stats_.bytes_out += bytes;
    return true;
  }

  /// Receives one multipart message into rx_parts_[0, rx_n_): the messages are reused from one
  /// receive to the next (libzmq releases a message's old content when it receives into it), so
  /// a part costs one zmq_msg_recv, not an init, a move and a close besides.
  bool recv_all(zmq::socket_t& s) {
    auto& parts = rx_parts_;
    rx_n_ = 0;
    try {
      for (;;) {
        if (rx_n_ == parts.size()) parts.emplace_back();
        auto& m = parts[rx_n_];
        // Later parts of a multipart message are there once the first is (libzmq delivers it whole).
        if (!s.recv(m, zmq::recv_flags::dontwait)) return rx_n_ > 0;
        stats_.bytes_in += m.size();
        ++rx_n_;
        if (!m.more()) return true;
      }
    } catch (zmq::error_t const&) {
      return false;
    }
  }

  /// Decodes rx_parts_[first, rx_n_) into rx_frame_, which keeps the capacity of its strings and
  /// body from one frame to the next unless a consumer moved them away.
  result<void> decode(std::size_t first) {
    auto& views = rx_views_;
    views.clear();
    for (std::size_t i = first; i < rx_n_; ++i) views.emplace_back(rx_parts_[i].data<char>(), rx_parts_[i].size());
    return wire::decode_frame_into(rx_frame_, views, limits());
  }

  wire::limits limits() const noexcept {
    wire::limits lim;
    lim.max_payload_bytes = max_payload_;
    return lim;
  }

  /// Hands each frame of the batch in rx_frame_ to `on` as if it had come alone, counting them;
  /// a frame that does not decode ends the batch, and it and the frames after it count as bad.
  template <class OnFrame>
  bool unbatch(OnFrame&& on) {
    std::uint32_t done = 0;
    auto ok = wire::for_each_batched(rx_frame_, rx_inner_, limits(), [&](wire::frame& f) {
      ++done;
      ++stats_.frames_in;
      on(f);
    });
    if (ok) return true;
    stats_.bad_frames += rx_frame_.h.frames > done ? rx_frame_.h.frames - done : 1;
    return false;
  }

  zmq::context_t ctx_;
  security sec_;
  std::optional<zap_handler> zap_;  // before router_: bound before it, destroyed after it
  zmq::socket_t router_;
  std::size_t max_payload_;
  std::string address_;
  int router_fd_ = -1;
  bool router_armed_ = false;  // see io_loop, "who may touch the sockets"
  std::vector<zmq::message_t> rx_parts_;  // see recv_all
  std::size_t rx_n_ = 0;
  std::vector<std::string_view> rx_views_;
  std::string rx_rid_;
  wire::frame rx_frame_;
  wire::frame rx_inner_;  // a frame of a batch in rx_frame_
  wire::header rx_bad_header_;  // the header of a frame whose body did not decode
  std::string tx_header_;
  std::unordered_map<std::string, std::uint64_t> bad_by_peer_;  // undecodable frames by offender()
  std::string rx_offender_;
  bad_frame_callback on_bad_;
  counters stats_;
  outbound_budget budget_;
  std::unordered_map<std::string, std::shared_ptr<outbound_queue>> router_queues_;  // by routing id
  std::shared_ptr<outbound_queue> rq_cache_;  // the last router_queue looked up
  std::string rq_cache_rid_, rq_key_;
  over_cap_callback on_over_cap_;
  std::mutex admitted_m_;
  std::vector<std::string> admitted_;          // what the ZAP handler admits (admitted_m_)
  std::atomic<std::uint64_t> revocations_{0};  // authorize_keys/revoke_key calls so far
  std::unordered_set<std::string> revoked_rids_;  // connections reported to on_revoked_
  revoked_callback on_revoked_;
  std::int64_t peak_queued_ = 0;              // highest outbound_bytes since the last trim
  std::uint64_t disconnects_at_trim_ = 0;
  mesh::detail::clock::time_point last_trim_{};
};

}  // namespace mesh::transport
