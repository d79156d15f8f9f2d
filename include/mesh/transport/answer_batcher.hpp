#pragma once
/// transport::answer_batcher: answers collected per requester, to leave as one batch frame each
/// (docs/wire.md, "Batches"): one ZeroMQ message, one lock round and one pass through libzmq's
/// pipes and I/O threads on both ends, instead of one per answer.
///
/// Nothing waits for more answers to come: the owner (io_loop) flushes when the handlers that
/// were runnable have run, when a handler is about to wait, when the relief thread takes over
/// from a slow handler, and whenever add() says a batch is full or old. A lone answer goes out
/// as its plain frame. Thread-safe (the I/O thread collects, the relief thread may flush).

#include <mesh/core/clock.hpp>
#include <mesh/wire/frame.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::transport {

class answer_batcher {
 public:
  /// Answers per batch: a batch this full goes at once.
  static constexpr std::uint32_t max_frames = 64;
  /// Bytes per batch; an answer over a quarter of it goes alone (see fits).
  static constexpr std::size_t max_bytes = 64 * 1024;
  /// A batch goes when its first answer is this old at the next answer: the longest an answer
  /// waits for company while handlers keep producing.
  static constexpr auto max_age = std::chrono::microseconds(50);
  /// Batches whose buffers are kept after a flush: a burst for many requesters does not pin a
  /// max_bytes buffer per requester.
  static constexpr std::size_t kept_buffers = 8;

  struct batch {
    std::string rid;
    std::string bytes;              // a batch's body part (wire::batch_writer::start_body)
    std::uint32_t n = 0;            // answers in it (0: a free entry)
    std::uint32_t first_parts = 0;  // the first answer's parts (header + body) and where each ends
    std::size_t first_end[1 + wire::body_parts::capacity] = {};
  };

  /// False for an answer too large to batch (it goes alone, after what was collected).
  static bool fits(wire::frame const& f) noexcept {
    std::size_t bytes = f.h.text.size() + f.h.node.size();
    for (auto const& b : f.body) bytes += b.size();
    return bytes <= max_bytes / 4;
  }

  /// Adds an answer for requester `rid`; true when the batches should be flushed now.
  bool add(std::string_view rid, wire::frame const& f) {
    std::lock_guard lk(m_);
    batch* e = nullptr;
    batch* free_entry = nullptr;
    for (auto& x : outbox_) {
      if (x.n && x.rid == rid) e = &x;
      else if (!x.n && !free_entry) free_entry = &x;
    }
    if (!e) {
      e = free_entry ? free_entry : &outbox_.emplace_back();
      e->rid.assign(rid);
      wire::batch_writer::start_body(e->bytes);
      if (n_ == 0) since_ = mesh::detail::clock::now();
    }
    auto& b = e->bytes;
    wire::batch_writer::append_body(b, f);
    if (e->n == 0) {  // where its parts end, to send it as itself if it stays alone
      e->first_parts = static_cast<std::uint32_t>(1 + f.body.size());
      std::size_t end = b.size();
      for (std::size_t i = f.body.size(); i > 0; --i) {
        e->first_end[i] = end;
        end -= f.body[i - 1].size();
      }
      e->first_end[0] = end;
    }
    ++e->n;
    ++n_;
    return e->n >= max_frames || b.size() >= max_bytes || mesh::detail::clock::now() - since_ >= max_age;
  }

  /// Moves the collected batches to `out` (empty: nothing collected).
  void take(std::vector<batch>& out) {
    std::lock_guard lk(m_);
    if (n_ == 0) return;
    out.swap(outbox_);
    n_ = 0;
  }

  /// Returns sent batches so that their buffers serve the next ones.
  void give_back(std::vector<batch>& out) {
    for (auto& e : out) e.n = 0;
    if (out.size() > kept_buffers) out.resize(kept_buffers);
    std::lock_guard lk(m_);
    if (outbox_.empty()) outbox_.swap(out);
  }

  /// The parts of `e` as one message: a lone answer as its own frame, else a batch frame (its
  /// header encoded into `header`). Returns how many of `parts` are used.
  static std::size_t parts_of(batch& e, std::string& header, std::string_view (&parts)[1 + wire::body_parts::capacity]) {
    if (e.n == 1) {
      std::size_t begin = wire::batch_writer::prefix;
      for (std::size_t i = 0; i < e.first_parts; ++i) {
        parts[i] = std::string_view(e.bytes).substr(begin, e.first_end[i] - begin);
        begin = e.first_end[i];
      }
      return e.first_parts;
    }
    wire::header h;
    h.k = wire::kind::batch;
    h.frames = e.n;
    wire::encode_header_to(header, h);
    wire::batch_writer::finish_body(e.bytes);
    parts[0] = header;
    parts[1] = e.bytes;
    return 2;
  }

  /// `e` as a batch frame that owns its bytes (to queue when the sockets are busy).
  [[gnu::cold]] static wire::frame as_frame(batch& e) {
    wire::frame f;
    f.h.k = wire::kind::batch;
    f.h.frames = e.n;
    wire::batch_writer::finish_body(e.bytes);
    f.body.push_back(std::move(e.bytes));
    return f;
  }

 private:
  std::mutex m_;  // taken before the I/O lock, never the other way round
  std::vector<batch> outbox_;
  std::size_t n_ = 0;
  mesh::detail::clock::time_point since_{};
};

}  // namespace mesh::transport
