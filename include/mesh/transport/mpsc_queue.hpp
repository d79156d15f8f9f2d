#pragma once
/// A lock-free multi-producer, single-consumer queue with an eventfd doorbell, so worker threads
/// hand work to the I/O thread without locks and the I/O thread can sleep in zmq_poll.

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

  /// File descriptor that becomes readable when items are pushed (for zmq_poll).
  int fd() const noexcept { return fd_; }

  /// Pushes an item (any thread). Rings the doorbell only when the queue was empty.
  void push(T v) {
    auto* n = new node{std::move(v), nullptr};
    node* old = head_.load(std::memory_order_relaxed);
    do {
      n->next = old;
    } while (!head_.compare_exchange_weak(old, n, std::memory_order_release, std::memory_order_relaxed));
    if (old == nullptr) {
      std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(fd_, &one, sizeof one);
    }
  }

  /// Takes every queued item in push order (consumer thread only). Returns how many.
  template <class F>
  std::size_t drain(F&& f) {
    std::uint64_t v;
    [[maybe_unused]] auto r = ::read(fd_, &v, sizeof v);
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
  int fd_;
};

}  // namespace mesh::transport
