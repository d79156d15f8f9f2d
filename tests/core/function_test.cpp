// detail::inplace_function, the reply callback of every remote call: small callables live inside
// it, large ones on the heap; either way it calls, moves and destroys its target exactly as a
// std::function would, and never copies it.
#include <mesh/core/function.hpp>

#include <doctest/doctest.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace {
using mesh::detail::inplace_function;

// Counts live instances, so that every construction is matched by one destruction.
struct tracked {
  static inline int live = 0;
  std::shared_ptr<int> hits = std::make_shared<int>(0);
  tracked() { ++live; }
  tracked(tracked&& o) noexcept : hits(std::move(o.hits)) { ++live; }
  tracked(tracked const&) = delete;
  ~tracked() { --live; }
};
}  // namespace

TEST_CASE("inplace_function calls small and large targets and passes arguments through") {
  inplace_function<int(int, std::string&&), 32> small = [k = 2](int a, std::string&& s) { return a * k + static_cast<int>(s.size()); };
  CHECK(small(20, std::string("abc")) == 43);

  std::array<char, 200> big{};  // larger than the buffer: goes to the heap
  big[199] = 7;
  inplace_function<int(int, std::string&&), 32> large = [big](int a, std::string&&) { return a + big[199]; };
  CHECK(large(1, std::string()) == 8);

  // An rvalue argument is moved into the target, not copied.
  std::string taken;
  inplace_function<void(std::string&&), 32> sink = [&taken](std::string&& s) { taken = std::move(s); };
  std::string arg(100, 'x');
  sink(std::move(arg));
  CHECK(taken.size() == 100u);
}

TEST_CASE("inplace_function moves its target, leaves the source empty, and destroys it once") {
  REQUIRE(tracked::live == 0);
  {
    tracked t;
    auto hits = t.hits;
    inplace_function<void(), 64> f = [t = std::move(t)] { ++*t.hits; };
    inplace_function<void(), 64> g = std::move(f);
    CHECK_FALSE(static_cast<bool>(f));
    REQUIRE(static_cast<bool>(g));
    g();
    g();
    CHECK(*hits == 2);
    inplace_function<void(), 64> h;
    h = std::move(g);
    h();
    CHECK(*hits == 3);
    h = nullptr;  // destroys the target now
    CHECK(tracked::live == 1);  // only `t` (moved-from) is left
  }
  CHECK(tracked::live == 0);

  {  // the same on the heap path: a target larger than the buffer
    tracked t;
    auto hits = t.hits;
    std::array<char, 128> pad{};
    inplace_function<void(), 16> f = [t = std::move(t), pad] { *t.hits += 1 + pad[0]; };
    auto g = std::move(f);
    g();
    CHECK(*hits == 1);
  }
  CHECK(tracked::live == 0);
}

TEST_CASE("calling an empty inplace_function throws bad_function_call, as std::function does") {
  inplace_function<void()> f;
  CHECK_FALSE(static_cast<bool>(f));
  CHECK_THROWS_AS(f(), std::bad_function_call);
  inplace_function<void()> g = nullptr;
  CHECK_THROWS_AS(g(), std::bad_function_call);
}
