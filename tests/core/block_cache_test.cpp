// detail::block_cache, where remote requests' envelopes live: a freed block is handed out again
// by the next allocation of its size class on the freeing thread, every block is aligned and
// usable over its whole size, and a thread keeps at most max_bytes_per_thread. Under
// AddressSanitizer the cache is off (every block goes back to the system allocator).
#include <mesh/core/block_cache.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace {
using mesh::detail::block_cache;

bool aligned(void* p) { return reinterpret_cast<std::uintptr_t>(p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__ == 0; }
}  // namespace

TEST_CASE("block_cache hands a freed block to the next allocation of its size class on the same thread") {
  auto const before = block_cache::cached_bytes();
  void* a = block_cache::allocate(100);
  REQUIRE(a);
  std::memset(a, 0xab, 100);
  block_cache::deallocate(a);
  if constexpr (block_cache::enabled) {
    CHECK(block_cache::cached_bytes() > before);
    void* b = block_cache::allocate(90);  // same 64-byte class as 100 (with the block's header)
    CHECK(b == a);
    CHECK(block_cache::cached_bytes() == before);
    block_cache::deallocate(b);
    void* other = block_cache::allocate(300);  // another class: not that block
    CHECK(other != a);
    block_cache::deallocate(other);
  } else {
    CHECK(block_cache::cached_bytes() == 0);
  }
  block_cache::deallocate(nullptr);  // as delete does, a null pointer is ignored
}

TEST_CASE("block_cache blocks are aligned and writable over their size; large blocks bypass the cache") {
  std::vector<void*> blocks;
  for (std::size_t n : {1u, 15u, 16u, 47u, 48u, 64u, 200u, 960u, 1000u, 1024u, 4096u, 100000u}) {
    void* p = block_cache::allocate(n);
    REQUIRE(p);
    CHECK(aligned(p));
    std::memset(p, static_cast<int>(n & 0xff), n);
    blocks.push_back(p);
  }
  for (void* p : blocks) block_cache::deallocate(p);
  auto const cached = block_cache::cached_bytes();
  void* big = block_cache::allocate(100000);
  block_cache::deallocate(big);
  CHECK(block_cache::cached_bytes() == cached);  // not kept: larger than the largest class
}

TEST_CASE("block_cache keeps at most max_bytes_per_thread and frees the rest") {
  constexpr std::size_t n = 4 * block_cache::max_bytes_per_thread / 256;  // 4x what it may keep
  std::vector<void*> blocks(n);
  for (auto& p : blocks) p = block_cache::allocate(200);
  for (auto* p : blocks) block_cache::deallocate(p);
  CHECK(block_cache::cached_bytes() <= block_cache::max_bytes_per_thread);
  if constexpr (block_cache::enabled) CHECK(block_cache::cached_bytes() > block_cache::max_bytes_per_thread / 2);
  // Reuse drains it again.
  for (auto& p : blocks) p = block_cache::allocate(200);
  CHECK(block_cache::cached_bytes() < block_cache::max_bytes_per_thread / 2);
  for (auto* p : blocks) block_cache::deallocate(p);
}

TEST_CASE("a block freed on another thread joins that thread's cache, which is released when it exits") {
  void* p = block_cache::allocate(500);
  auto const mine = block_cache::cached_bytes();
  std::size_t theirs_before = 0, theirs_after = 0;
  void* reused = nullptr;
  std::thread t([&] {
    theirs_before = block_cache::cached_bytes();
    block_cache::deallocate(p);
    theirs_after = block_cache::cached_bytes();
    reused = block_cache::allocate(520);  // same class
    block_cache::deallocate(reused);
  });
  t.join();
  CHECK(block_cache::cached_bytes() == mine);
  CHECK(theirs_before == 0);
  if constexpr (block_cache::enabled) {
    CHECK(theirs_after > 0);
    CHECK(reused == p);
  }
}
