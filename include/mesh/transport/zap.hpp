#pragma once
/// transport::zap_handler: the ZAP handler (ZeroMQ RFC 27) of one zmq::context_t. libzmq asks it,
/// during each CURVE handshake on a server socket of that context, whether the client's public
/// key may connect; it admits the keys of a set (API.md §5: the cluster public key and
/// node_config::authorized_keys) and refuses the rest.
///
/// Order (libzmq 4.3 fails open): a CURVE server socket whose context has no ZAP handler bound
/// admits every client that knows the server key, and ZMQ_ZAP_ENFORCE_DOMAIN, which would make
/// it fail closed, is a draft option that Debian's libzmq lacks. So construct the zap_handler
/// before any CURVE server socket of the context binds (or accepts), and destroy it only after
/// every such socket is closed.

#include <mesh/core/error.hpp>

#include <zmq.h>
#include <zmq.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <set>
#include <utility>
#include <vector>

namespace mesh::transport {

/// Where libzmq sends ZAP requests (RFC 27): one handler per context binds it.
inline constexpr char const* zap_endpoint = "inproc://zeromq.zap.01";
/// Most frames a ZAP request may have (envelope 2 + 6 fields + credentials; CURVE sends one
/// credential, PLAIN two): a longer message is malformed and its frames are dropped unread.
inline constexpr std::size_t max_zap_frames = 16;
/// Requests served per wake-up before the stop socket is looked at again (a prompt stop under a
/// handshake flood).
inline constexpr int max_zap_requests_per_pass = 256;

/// A budget of connections to a server socket (node_config::max_connections): the handler
/// reads the socket's monitor (zmq_socket_monitor at `monitor_address`, events ACCEPTED and
/// DISCONNECTED; connect the monitor after constructing the handler) and refuses a handshake
/// while more than `max` connections are open, whoever they come from (libzmq has no limit of
/// its own: each connection costs a descriptor and some 40 KiB). `max` 0: no budget.
struct zap_connection_budget {
  std::string monitor_address;
  std::size_t max = 0;
  /// Called on the handler's thread for a handshake refused over the budget: the client's address.
  std::function<void(std::string_view peer_address)> on_over{};
};

/// Answers ZAP requests for one context on its own thread: "200" with user id = the client's
/// public key (Z85; ZMQ's "User-Id" message property) when the mechanism is CURVE and the key is
/// admitted; "400" for any other key or mechanism; "500" for a malformed request (which never
/// reaches it from libzmq; only another socket of the process could send one).
///
/// A 400 makes libzmq end the handshake with a ZMTP ERROR carrying just the code, after the
/// client proved it knows the server's public key; a client that does not know it cannot even
/// complete HELLO and is dropped silently by libzmq. Nothing else is told to a refused client.
///
/// Thread-safety: set_admitted, is_admitted and the counters may be called from any thread.
/// Must be destroyed before its context (it holds sockets of it). Nothing thrown on its thread
/// leaves it: a throwing on_refused callback is ignored for that request.
class zap_handler {
 public:
  /// Called on the handler's thread for each refused request: the client's public key in Z85
  /// (empty when the mechanism is not CURVE) and its address ("192.0.2.7"). Keep it short
  /// (handshakes wait meanwhile); rate-limiting what it logs is the caller's job.
  using refused_callback = std::function<void(std::string_view key_z85, std::string_view peer_address)>;


  /// Binds zap_endpoint in `ctx` and starts the thread. `admitted_keys`: public keys in Z85
  /// (validate them with transport::validate_public_keys or parse_authorized_keys; an entry that
  /// is not a key matches nothing). Throws mesh::exception: errc::already_exists when the context
  /// already has a ZAP handler, errc::invalid_argument when the socket cannot be made.
  zap_handler(zmq::context_t& ctx, std::vector<std::string> admitted_keys, refused_callback on_refused = {},
              zap_connection_budget budget = {})
      : router_(make_socket(ctx, zmq::socket_type::router)),
        stop_rx_(make_socket(ctx, zmq::socket_type::pair)),
        stop_tx_(make_socket(ctx, zmq::socket_type::pair)),
        admitted_(std::make_shared<key_set const>(admitted_keys.begin(), admitted_keys.end())),
        on_refused_(std::move(on_refused)),
        budget_(std::move(budget)) {
    // A name of its own (a counter, not `this`: a new handler may reuse a freed address while
    // libzmq's reaper still holds the old name).
    static std::atomic<std::uint64_t> handlers{0};
    std::string const stop_address = "inproc://mesh.zap.stop." + std::to_string(handlers.fetch_add(1) + 1);
    try {
      router_.bind(zap_endpoint);
    } catch (zmq::error_t const& e) {
      if (e.num() == EADDRINUSE)
        throw mesh::exception(fail(errc::already_exists, std::string("this context already has a ZAP handler (") +
                                                             zap_endpoint + " is bound)"));
      throw mesh::exception(fail(errc::invalid_argument, std::string("cannot bind ") + zap_endpoint + ": " + e.what()));
    }
    try {
      stop_rx_.bind(stop_address);
      stop_tx_.connect(stop_address);
    } catch (zmq::error_t const& e) {
      throw mesh::exception(fail(errc::invalid_argument, std::string("cannot make the ZAP handler's stop socket: ") + e.what()));
    }
    if (!budget_.monitor_address.empty()) {
      try {
        // inproc allows connecting before the bind (zmq_socket_monitor binds it).
        monitor_.emplace(make_socket(ctx, zmq::socket_type::pair));
        monitor_->connect(budget_.monitor_address);
      } catch (zmq::error_t const& e) {
        throw mesh::exception(fail(errc::invalid_argument, std::string("cannot connect the connection monitor: ") + e.what()));
      }
    }
    thread_ = std::thread([this] { run(); });
  }

  zap_handler(zap_handler const&) = delete;
  zap_handler& operator=(zap_handler const&) = delete;

  /// Stops the thread (promptly: it waits on a stop socket too) and unbinds zap_endpoint at once.
  ~zap_handler() {
    try {
      stop_tx_.send(zmq::message_t{}, zmq::send_flags::dontwait);
    } catch (...) {
      // The context is terminating: the thread sees ETERM and returns by itself.
    }
    if (thread_.joinable()) thread_.join();
    // Closing a socket frees its inproc name later, on libzmq's reaper thread; unbinding frees
    // it now, so a new handler can bind in this context as soon as this one is gone.
    try {
      router_.unbind(zap_endpoint);
    } catch (...) {
      // Terminating context: nothing will bind again.
    }
  }

  /// Replaces the admitted keys (Z85). Takes effect for handshakes that start afterwards;
  /// connections already admitted stay up (a node that revokes a key also drops messages whose
  /// "User-Id" is no longer admitted, or closes the connection). Thread-safe.
  void set_admitted(std::vector<std::string> keys) {
    auto fresh = std::make_shared<key_set const>(keys.begin(), keys.end());
    std::lock_guard lock(mutex_);
    admitted_.swap(fresh);
  }

  /// True when `key_z85` is in the admitted set now. Thread-safe.
  bool is_admitted(std::string_view key_z85) const {
    auto const keys = snapshot();
    return keys->find(std::string(key_z85)) != keys->end();
  }

  /// Requests answered "200" so far.
  std::uint64_t admitted_count() const noexcept { return admitted_n_.load(std::memory_order_relaxed); }
  /// Requests answered "400" so far (a key not admitted, or not CURVE).
  std::uint64_t refused_count() const noexcept { return refused_n_.load(std::memory_order_relaxed); }
  /// Malformed requests so far (answered "500" when they could be answered, else dropped).
  std::uint64_t malformed_count() const noexcept { return malformed_n_.load(std::memory_order_relaxed); }
  /// Handshakes refused over the connection budget so far (also in refused_count).
  std::uint64_t over_budget_count() const noexcept { return over_n_.load(std::memory_order_relaxed); }
  /// Connections open now and closed so far (with a connection budget; else 0).
  std::int64_t connections() const noexcept { return open_n_.load(std::memory_order_relaxed); }
  std::uint64_t disconnected_count() const noexcept { return closed_n_.load(std::memory_order_relaxed); }

 private:
  using key_set = std::set<std::string, std::less<>>;

  static zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type) {
    try {
      zmq::socket_t s(ctx, type);
      s.set(zmq::sockopt::linger, 0);
      return s;
    } catch (zmq::error_t const& e) {
      throw mesh::exception(fail(errc::invalid_argument, std::string("cannot make a ZAP handler socket: ") + e.what()));
    }
  }

  std::shared_ptr<key_set const> snapshot() const {
    std::lock_guard lock(mutex_);
    return admitted_;
  }

  void run() noexcept {
    std::array<zmq_pollitem_t, 3> items{{{router_.handle(), 0, ZMQ_POLLIN, 0},
                                         {stop_rx_.handle(), 0, ZMQ_POLLIN, 0},
                                         {monitor_ ? monitor_->handle() : nullptr, 0, ZMQ_POLLIN, 0}}};
    int const polled = monitor_ ? 3 : 2;
    std::vector<zmq::message_t> parts;
    parts.reserve(max_zap_frames);
    for (;;) {
      items[0].revents = items[1].revents = items[2].revents = 0;
      // Connections opened before their handshake's request are counted before it is served.
      if (monitor_) read_monitor();
      if (zmq_poll(items.data(), polled, -1) < 0) {
        int const e = zmq_errno();
        if (e == ETERM) return;
        if (e != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // never spin
        continue;
      }
      if (items[1].revents & ZMQ_POLLIN) return;
      if (monitor_) read_monitor();
      for (int i = 0; i < max_zap_requests_per_pass; ++i) {
        try {
          bool truncated = false;
          if (!read_request(parts, truncated)) break;
          serve(parts, truncated);
        } catch (zmq::error_t const& e) {
          if (e.num() == ETERM) return;
          break;
        } catch (...) {
          // bad_alloc and the like: this request goes unanswered (libzmq's handshake times out:
          // fail closed); the next one is served.
        }
      }
    }
  }

  // Monitor events (ZeroMQ 4: [uint16 event, uint32 value][endpoint]) into the connection count.
  void read_monitor() noexcept {
    try {
      for (int i = 0; i < max_zap_requests_per_pass; ++i) {
        zmq::message_t ev, addr;
        if (!monitor_->recv(ev, zmq::recv_flags::dontwait)) return;
        if (ev.more()) (void)monitor_->recv(addr, zmq::recv_flags::dontwait);
        if (ev.size() < sizeof(std::uint16_t)) continue;
        std::uint16_t event = 0;
        std::memcpy(&event, ev.data(), sizeof event);
        if (event == ZMQ_EVENT_ACCEPTED) open_n_.fetch_add(1, std::memory_order_relaxed);
        else if (event == ZMQ_EVENT_DISCONNECTED) {
          open_n_.fetch_sub(1, std::memory_order_relaxed);
          closed_n_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    } catch (...) {
      // ETERM: the run loop sees it too.
    }
  }

  // One request's frames into `parts` (at most max_zap_frames; `truncated` when it had more).
  // False when none was waiting.
  bool read_request(std::vector<zmq::message_t>& parts, bool& truncated) {
    parts.clear();
    truncated = false;
    for (;;) {
      zmq::message_t m;
      if (!router_.recv(m, zmq::recv_flags::dontwait)) return !parts.empty();  // parts arrive together
      bool const more = m.more();
      if (parts.size() < max_zap_frames) parts.push_back(std::move(m));
      else truncated = true;
      if (!more) return true;
    }
  }

  static std::string_view view(zmq::message_t const& m) noexcept { return {m.data<char>(), m.size()}; }

  void serve(std::vector<zmq::message_t>& parts, bool truncated) {
    // ROUTER framing: [routing id][empty delimiter][version][request id][domain][address]
    // [identity][mechanism][credentials...].
    if (parts.size() < 2 || parts[1].size() != 0) {  // no envelope: there is no one to answer
      malformed_n_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::string_view const request_id = parts.size() > 3 ? view(parts[3]) : std::string_view{};
    if (truncated || parts.size() < 8 || view(parts[2]) != "1.0") {
      malformed_n_.fetch_add(1, std::memory_order_relaxed);
      reply(parts[0], request_id, "500", "malformed ZAP request", {});
      return;
    }
    std::string_view const address = view(parts[5]);
    std::string_view const mechanism = view(parts[7]);
    if (mechanism != "CURVE") {
      refuse(parts[0], request_id, {}, address);
      return;
    }
    if (parts.size() != 9 || parts[8].size() != 32) {
      malformed_n_.fetch_add(1, std::memory_order_relaxed);
      reply(parts[0], request_id, "500", "malformed CURVE credentials", {});
      return;
    }
    std::array<char, 41> key{};
    if (zmq_z85_encode(key.data(), parts[8].data<std::uint8_t>(), 32) == nullptr) {
      malformed_n_.fetch_add(1, std::memory_order_relaxed);
      reply(parts[0], request_id, "500", "malformed CURVE credentials", {});
      return;
    }
    std::string_view const key_z85(key.data(), 40);
    if (budget_.max && open_n_.load(std::memory_order_relaxed) > static_cast<std::int64_t>(budget_.max)) {
      over_n_.fetch_add(1, std::memory_order_relaxed);
      refused_n_.fetch_add(1, std::memory_order_relaxed);
      reply(parts[0], request_id, "400", "connection limit", {});
      if (budget_.on_over) {
        try {
          budget_.on_over(address);
        } catch (...) {
          // As for on_refused.
        }
      }
      return;
    }
    if (is_admitted(key_z85)) {
      admitted_n_.fetch_add(1, std::memory_order_relaxed);
      reply(parts[0], request_id, "200", "OK", key_z85);
    } else {
      refuse(parts[0], request_id, key_z85, address);
    }
  }

  void refuse(zmq::message_t& routing_id, std::string_view request_id, std::string_view key_z85, std::string_view address) {
    refused_n_.fetch_add(1, std::memory_order_relaxed);
    reply(routing_id, request_id, "400", "not admitted", {});
    if (on_refused_) {
      try {
        on_refused_(key_z85, address);
      } catch (...) {
        // The caller's callback must not end the handler.
      }
    }
  }

  // RFC 27 reply: [routing id][empty][version][request id][status code][status text][user id]
  // [metadata]. dontwait: a requester that went away (handshake timed out) is dropped, never waited on.
  void reply(zmq::message_t& routing_id, std::string_view request_id, std::string_view status, std::string_view text,
             std::string_view user_id) {
    std::array<std::string_view, 7> const fields{"", "1.0", request_id, status, text, user_id, ""};
    if (!router_.send(routing_id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      auto const flags = i + 1 < fields.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait : zmq::send_flags::dontwait;
      (void)router_.send(zmq::const_buffer(fields[i].data(), fields[i].size()), flags);
    }
  }

  zmq::socket_t router_;   // bound to zap_endpoint; used by the thread only
  zmq::socket_t stop_rx_;  // the thread returns when this one can be read
  zmq::socket_t stop_tx_;  // used by the destructor only
  mutable std::mutex mutex_;
  std::shared_ptr<key_set const> admitted_;  // replaced whole under mutex_, read through a copy
  refused_callback on_refused_;
  zap_connection_budget budget_;
  std::optional<zmq::socket_t> monitor_;  // the server socket's monitor; used by the thread only
  std::atomic<std::uint64_t> admitted_n_{0}, refused_n_{0}, malformed_n_{0}, over_n_{0}, closed_n_{0};
  std::atomic<std::int64_t> open_n_{0};
  std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace mesh::transport
