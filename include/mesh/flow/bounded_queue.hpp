#pragma once
/// The bounded multi-producer single-consumer queue between flow nodes (Vyukov's bounded ring
/// with per-slot sequence numbers): a push is one CAS and two stores, a pop two stores, and
/// the consumer processes an item in place before releasing its slot.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace mesh::flow::detail {

inline constexpr std::size_t cache_line = 64;

template <class T>
class bounded_queue {
 public:
  /// Capacity is rounded up to a power of two (at least 2).
  explicit bounded_queue(std::size_t capacity) {
    std::size_t c = 2;
    while (c < capacity) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<slot[]>(c);
    for (std::size_t i = 0; i < c; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }
  bounded_queue(bounded_queue const&) = delete;
  bounded_queue& operator=(bounded_queue const&) = delete;
  ~bounded_queue() {
    while (T* p = front()) {
      (void)p;
      pop();
    }
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  /// Moves `v` in and returns true, or returns false (v untouched) when the queue is full.
  /// Any thread.
  bool try_push(T& v) {
    std::size_t pos = tail_.load(std::memory_order_relaxed);
    slot* s;
    for (;;) {
      s = &slots_[pos & mask_];
      std::size_t const seq = s->seq.load(std::memory_order_acquire);
      auto const diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (diff < 0) {
        return false;
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
    ::new (static_cast<void*>(s->storage)) T(std::move(v));
    s->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  /// True when the next push would find a free slot (approximate under concurrency). Any thread.
  bool has_space() const noexcept {
    std::size_t const pos = tail_.load(std::memory_order_acquire);
    return slots_[pos & mask_].seq.load(std::memory_order_acquire) == pos;
  }

  /// The oldest item, or nullptr when empty. Consumer only.
  T* front() noexcept {
    slot& s = slots_[head_ & mask_];
    if (s.seq.load(std::memory_order_acquire) != head_ + 1) return nullptr;
    return std::launder(reinterpret_cast<T*>(s.storage));
  }
  /// Destroys the front item and frees its slot. Consumer only; front() must be non-null.
  void pop() noexcept {
    slot& s = slots_[head_ & mask_];
    std::launder(reinterpret_cast<T*>(s.storage))->~T();
    s.seq.store(head_ + mask_ + 1, std::memory_order_release);
    ++head_;
    head_pub_.store(head_, std::memory_order_release);
  }

  /// Items pushed so far (monotonic). Any thread.
  std::uint64_t pushed() const noexcept { return tail_.load(std::memory_order_acquire); }
  /// Items popped so far (monotonic). Any thread.
  std::uint64_t popped() const noexcept { return head_pub_.load(std::memory_order_acquire); }
  /// Approximate number of queued items. Any thread.
  std::size_t size() const noexcept {
    auto const t = pushed(), h = popped();
    return t > h ? static_cast<std::size_t>(t - h) : 0;
  }
  /// True when a completed push is waiting. Consumer only (exact), others (approximate).
  bool empty_for_consumer() noexcept { return front() == nullptr; }

 private:
  struct slot {
    std::atomic<std::size_t> seq;
    alignas(T) unsigned char storage[sizeof(T)];
  };
  // Read-only after construction, then the producers' line, then the consumer's.
  std::size_t mask_ = 0;
  std::unique_ptr<slot[]> slots_;
  alignas(cache_line) std::atomic<std::size_t> tail_{0};
  alignas(cache_line) std::size_t head_ = 0;
  std::atomic<std::uint64_t> head_pub_{0};
};

}  // namespace mesh::flow::detail
