#pragma once
/// A lock-free multi-producer, single-consumer queue with an eventfd doorbell, so worker threads
/// hand work to the I/O thread without locks and the I/O thread can sleep in zmq_poll.
///
/// The doorbell is rung only when the consumer announced that it is about to sleep
/// (prepare_sleep()): while the consumer is awake (busy, or spinning for more work) producers push
/// with one CAS and no system call. The consumer must therefore check the queue (drain()) on every
/// wake-up, not only when the eventfd is readable.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <utility>

#include <sys/eventfd.h>
#include <unistd.h>

namespace mesh::transport {

template <class T>
class mpsc_queue {
 public:
  mpsc_queue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  mpsc_queue(mpsc_queue const&) = delete;
  mpsc_queue& operator=(mpsc_queue const&) = delete;
  ~mpsc_queue() {
    drain([](T&&) {});
    if (fd_ >= 0) ::close(fd_);
  }

  /// File descriptor that becomes readable when items are pushed while the consumer sleeps.
  int fd() const noexcept { return fd_; }

  /// Pushes an item (any thread). Rings the doorbell only when the consumer is about to sleep.
  void push(T v) {
    auto* n = new node{std::move(v), nullptr};
    node* old = head_.load(std::memory_order_relaxed);
    do {
      n->next = old;
    } while (!head_.compare_exchange_weak(old, n, std::memory_order_seq_cst, std::memory_order_relaxed));
    // Dekker with prepare_sleep(): either the consumer sees this item, or we see its flag.
    if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false, std::memory_order_seq_cst)) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(fd_, &one, sizeof one);
    }
  }

  /// True when items are waiting (any thread; a hint).
  bool has_items() const noexcept { return head_.load(std::memory_order_acquire) != nullptr; }

  /// Consumer: announces a sleep on fd(). Returns false (and cancels the announcement) when items
  /// are already waiting: then do not block.
  bool prepare_sleep() noexcept {
    sleeping_.store(true, std::memory_order_seq_cst);
    if (head_.load(std::memory_order_seq_cst) != nullptr) {
      sleeping_.store(false, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  /// True between prepare_sleep() and end_sleep() (until a push rang the doorbell).
  bool consumer_sleeping() const noexcept { return sleeping_.load(std::memory_order_seq_cst); }

  /// Consumer: the sleep is over (woken or timed out); producers stop ringing.
  void end_sleep() noexcept { sleeping_.store(false, std::memory_order_relaxed); }

  /// Rings the doorbell unconditionally (any thread): wakes a consumer sleeping on fd().
  void ring() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(fd_, &one, sizeof one);
  }

  /// Consumer: resets the doorbell after fd() was reported readable.
  void clear_doorbell() noexcept {
    std::uint64_t v;
    [[maybe_unused]] auto r = ::read(fd_, &v, sizeof v);
  }

  /// Takes every queued item in push order (consumer thread only). Returns how many.
  template <class F>
  std::size_t drain(F&& f) {
    if (head_.load(std::memory_order_relaxed) == nullptr) return 0;
    node* n = head_.exchange(nullptr, std::memory_order_acquire);
    node* rev = nullptr;  // the stack is newest-first: reverse it
    while (n) {
      node* next = n->next;
      n->next = rev;
      rev = n;
      n = next;
    }
    std::size_t count = 0;
    while (rev) {
      node* next = rev->next;
      f(std::move(rev->value));
      delete rev;
      rev = next;
      ++count;
    }
    return count;
  }

 private:
  struct node {
    T value;
    node* next;
  };
  std::atomic<node*> head_{nullptr};
  std::atomic<bool> sleeping_{false};
  int fd_;
};

}  // namespace mesh::transport
