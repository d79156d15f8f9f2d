#pragma once
/// transport::outbound_budget: the bytes a node has handed to libzmq to send and libzmq still
/// holds, per connection and in total, and the cap on them (node_config::max_outbound_bytes).
///
/// libzmq's high-water marks count messages, not bytes, and a peer that never reads keeps
/// everything sent to it queued in its pipe (the kernel's socket buffers fill first, then the
/// pipe). So the endpoint counts bytes itself: the last part of every message it sends is a
/// zmq_msg_init_data message whose free function hands its charge back. libzmq frees a part when
/// its connection's engine has taken it for the wire (CURVE encrypts it into a new message and
/// frees ours), or when the connection goes and its pipe is dropped; the parts of a message are
/// taken in order, so the last part's release means the whole message is out of libzmq's queues.
/// The count is exact, whichever thread frees the message.
///
/// Admission (docs/security.md, "Memory under a flood"): a connection that has nothing queued
/// may always queue one more message while the total stays within the cap; one that has
/// something queued only while it holds at most an eighth of the cap and the total stays within
/// three quarters of it. A peer that reads its replies drains to zero between them and is
/// served from the last quarter when non-reading peers have filled the rest; a non-reading peer
/// loses what does not fit. Thread-safe (atomics); I/O lock for make_queue.

#include <zmq.h>
#include <zmq.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace mesh::transport {

/// What libzmq keeps per queued message part besides its bytes (its zmq_msg_t slot in the pipe
/// and the content block): counted so that a flood of tiny messages is bounded too.
inline constexpr std::int64_t part_overhead_bytes = 96;

/// The bytes queued in libzmq across all of an endpoint's connections. Shared with every
/// connection's queue: libzmq may free a message after the endpoint is gone.
struct outbound_total {
  std::atomic<std::int64_t> bytes{0};
};

/// The bytes queued in libzmq for one connection (a DEALER, or one routing id at the ROUTER).
struct outbound_queue {
  std::shared_ptr<outbound_total> total;
  std::atomic<std::int64_t> bytes{0};
  std::string peer;  ///< who it goes to, for the log
};

class outbound_budget {
 public:
  /// `cap`: node_config::max_outbound_bytes (0: no cap, bytes are still counted).
  explicit outbound_budget(std::size_t cap) : cap_(static_cast<std::int64_t>(cap)), total_(std::make_shared<outbound_total>()) {}

  std::shared_ptr<outbound_queue> make_queue(std::string peer) const {
    auto q = std::make_shared<outbound_queue>();
    q->total = total_;
    q->peer = std::move(peer);
    return q;
  }

  /// Bytes queued in libzmq now, over all connections.
  std::int64_t queued() const noexcept { return total_->bytes.load(std::memory_order_relaxed); }
  std::int64_t cap() const noexcept { return cap_; }

  /// What a message of `parts` is charged.
  static std::int64_t charge_of(std::span<std::string_view const> parts, bool routed) noexcept {
    std::int64_t c = part_overhead_bytes * static_cast<std::int64_t>(parts.size() + (routed ? 1 : 0));
    for (auto const& p : parts) c += static_cast<std::int64_t>(p.size());
    return c;
  }

  /// Whether `q` may queue a message charged `charge` now (see the header comment).
  bool admits(outbound_queue const& q, std::int64_t charge) const noexcept {
    if (cap_ == 0) return true;
    auto const total = total_->bytes.load(std::memory_order_relaxed);
    auto const mine = q.bytes.load(std::memory_order_relaxed);
    if (mine == 0) return total == 0 || total + charge <= cap_;  // a message over the cap goes alone
    return mine + charge <= cap_ / 8 && total + charge <= cap_ - cap_ / 4;
  }

  /// `m` becomes a copy of `data` charged `charge` to `q` until libzmq frees it. False (nothing
  /// charged, `m` untouched) when memory runs out.
  static bool charged_message(zmq::message_t& m, std::string_view data, std::shared_ptr<outbound_queue> const& q,
                              std::int64_t charge) noexcept {
    void* block = std::malloc(sizeof(tag) + data.size());
    if (!block) return false;
    auto* t = ::new (block) tag{q, charge};
    char* bytes = static_cast<char*>(block) + sizeof(tag);
    if (!data.empty()) std::memcpy(bytes, data.data(), data.size());
    q->bytes.fetch_add(charge, std::memory_order_relaxed);
    q->total->bytes.fetch_add(charge, std::memory_order_relaxed);
    zmq::message_t fresh;
    if (zmq_msg_init_data(fresh.handle(), bytes, data.size(), &release, t) != 0) {
      release(bytes, t);
      return false;
    }
    m = std::move(fresh);
    return true;
  }

 private:
  struct tag {
    std::shared_ptr<outbound_queue> q;
    std::int64_t charge;
  };

  // libzmq's free function: runs on whichever thread drops the last reference (its I/O thread
  // once the engine took the message, ours when a send fails).
  static void release(void*, void* hint) noexcept {
    auto* t = static_cast<tag*>(hint);
    t->q->bytes.fetch_sub(t->charge, std::memory_order_relaxed);
    t->q->total->bytes.fetch_sub(t->charge, std::memory_order_relaxed);
    t->~tag();
    std::free(t);
  }

  std::int64_t cap_;
  std::shared_ptr<outbound_total> total_;
};

}  // namespace mesh::transport
