#pragma once
/// A per-thread cache of freed memory blocks, for objects that are allocated in bursts and freed
/// in bursts: the envelopes of a batch of requests are allocated while the I/O thread reads the
/// batch and freed while it (or a worker) runs it. glibc keeps 7 freed blocks of a size per
/// thread; the rest of a burst takes malloc's slow paths (bins, arena lock).

#include <cstddef>
#include <new>

namespace mesh::detail {

class block_cache {
 public:
  /// Blocks are rounded up to `step` bytes; blocks larger than the last class bypass the cache.
  static constexpr std::size_t step = 64, classes = 16;
  /// What one thread keeps at most (beyond it, frees go to the system allocator).
  static constexpr std::size_t max_bytes_per_thread = std::size_t(256) << 10;

  /// Allocates `n` bytes aligned to __STDCPP_DEFAULT_NEW_ALIGNMENT__; free with deallocate().
  static void* allocate(std::size_t n) {
    std::size_t const cls = (n + header + step - 1) / step;
    if (enabled && cls < classes) {
      lists& l = tl();
      if (node* b = l.head[cls]) {
        l.head[cls] = b->next;
        l.bytes -= cls * step;
        return body(b, cls);
      }
    }
    // A cached class's blocks all have the class's full size, so any thread can reuse them.
    if (cls < classes) return body(::operator new(cls * step), cls);
    return body(::operator new(n + header), 0);
  }

  /// Frees a block from allocate(), on any thread (it joins that thread's cache).
  static void deallocate(void* p) noexcept {
    if (!p) return;
    void* raw = static_cast<char*>(p) - header;
    std::size_t const cls = *static_cast<std::size_t*>(raw);
    if (enabled && cls != 0) {
      lists& l = tl();
      if (l.alive && l.bytes + cls * step <= max_bytes_per_thread) {
        auto* b = static_cast<node*>(raw);
        b->next = l.head[cls];
        l.head[cls] = b;
        l.bytes += cls * step;
        return;
      }
    }
    ::operator delete(raw);
  }

  /// Bytes this thread's cache holds.
  static std::size_t cached_bytes() noexcept { return tl().bytes; }

  // Under AddressSanitizer a cache would hide the use of freed envelopes: it is off there.
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool enabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  static constexpr bool enabled = false;
#else
  static constexpr bool enabled = true;
#endif
#else
  static constexpr bool enabled = true;
#endif

 private:
  // The class index precedes the block; a header of the default new alignment keeps the block
  // aligned as operator new's would be.
  static constexpr std::size_t header = __STDCPP_DEFAULT_NEW_ALIGNMENT__ < sizeof(std::size_t)
                                            ? sizeof(std::size_t)
                                            : __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  struct node {
    node* next;
  };
  static_assert(sizeof(node) <= header);

  static void* body(void* raw, std::size_t cls) noexcept {
    *static_cast<std::size_t*>(raw) = cls;
    return static_cast<char*>(raw) + header;
  }

  // Trivially destructible, so it stays usable while the thread's other thread_locals are
  // destroyed (a block freed then goes to the system allocator); `keeper` empties it at exit.
  struct lists {
    node* head[classes];
    std::size_t bytes;
    bool alive;
  };
  struct keeper {
    lists& l;
    explicit keeper(lists& x) noexcept : l(x) { l.alive = true; }
    ~keeper() {
      l.alive = false;
      for (auto*& h : l.head)
        while (h) {
          node* n = h->next;
          ::operator delete(static_cast<void*>(h));
          h = n;
        }
      l.bytes = 0;
    }
  };
  static lists& tl() noexcept {
    thread_local lists l{};
    thread_local bool registered = false;
    if (!registered) [[unlikely]] {
      registered = true;  // once per thread: after keeper ran, the thread is exiting
      thread_local keeper k{l};
    }
    return l;
  }
};

}  // namespace mesh::detail
