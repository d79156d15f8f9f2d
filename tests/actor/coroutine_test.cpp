// Coroutine handlers (mesh::task<R>), co_await on mesh::future, and cancel(), on one node.
#include "actors.hpp"

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

namespace co_test {

using namespace std::chrono_literals;
using actor_test::eventually;

struct co_cap : mesh::capability<"co"> {};

struct Block {};
struct Ping {
  BOOST_HANA_DEFINE_STRUCT(Ping, (long, v));
};
struct Relay {
  BOOST_HANA_DEFINE_STRUCT(Relay, (std::string, leaf), (long, v));
};
struct Fail {
  BOOST_HANA_DEFINE_STRUCT(Fail, (bool, reject), (bool, before_await));
};
struct Seen {};
struct Touch {};

struct observations {
  std::atomic<int> holding{0};        // Leaf handlers blocked on their gate
  std::atomic<int> awaiting{0};       // Hub tasks suspended in co_await
  std::atomic<int> inside{0};         // Hub tasks of one activation between start and end
  std::atomic<int> overlaps{0};       // a Hub task found another one of its activation running
  std::atomic<long> pings{0};         // Leaf pings handled
  std::atomic<int> hubs_constructed{0};
  actor_test::gate gate_l, gate_m;
  void reset() {
    holding = awaiting = inside = overlaps = hubs_constructed = 0;
    pings = 0;
    gate_l.close();
    gate_m.close();
  }
};
inline observations obs;

/// A plain actor: Block holds the activation (on the caller's thread when called synchronously
/// while it is idle) until the test opens its gate; Ping answers v + 1.
struct Leaf {
  static constexpr mesh::fixed_string name = "co_leaf";
  using capability = co_cap;
  using messages = mesh::list<Block, Ping>;
  explicit Leaf(std::string_view id) : id_(id) {}
  long handle(Block const&) {
    ++obs.holding;
    (id_ == "M" ? obs.gate_m : obs.gate_l).wait();
    --obs.holding;
    return 0;
  }
  long handle(Ping const& p) {
    ++obs.pings;
    return p.v + 1;
  }
  std::string id_;
};

/// Coroutine handlers.
struct Hub {
  static constexpr mesh::fixed_string name = "co_hub";
  using capability = co_cap;
  using messages = mesh::list<Relay, Fail, Seen, Touch>;
  explicit Hub(std::string_view) { ++obs.hubs_constructed; }

  /// Awaits Leaf(leaf).Ping{v}: replies v + 1, checking that no other message of this
  /// activation ran meanwhile.
  mesh::task<long> handle(Relay const& r, mesh::context& ctx) {
    if (obs.inside.fetch_add(1) != 0) ++obs.overlaps;
    ++seen;
    ++obs.awaiting;
    auto rep = co_await ctx.call_async<Leaf>(r.leaf, Ping{r.v});
    --obs.awaiting;
    if (obs.inside.fetch_sub(1) != 1) ++obs.overlaps;
    if (!rep) throw mesh::rejected{"leaf failed: " + rep.error().message};
    co_return rep->value;
  }
  /// Throws mesh::rejected or std::runtime_error, before or after a co_await.
  mesh::task<void> handle(Fail const& f, mesh::context& ctx) {
    if (!f.before_await) {
      auto rep = co_await ctx.call_async<Leaf>("f", Ping{1});
      (void)rep;
    }
    if (f.reject) throw mesh::rejected{"no funds"};
    throw std::runtime_error("hub broke");
  }
  long handle(Seen const&) { return seen; }
  /// A task<void> that never suspends.
  mesh::task<void> handle(Touch const&, mesh::context&) {
    ++seen;
    co_return;
  }
  long seen = 0;
};

using app = mesh::schema<Leaf, Hub>;
using co_node = mesh::node<app>;

inline mesh::node_config config(std::size_t workers) {
  mesh::node_config cfg;
  cfg.name = "co";
  cfg.workers = workers;
  cfg.call_timeout = 30s;
  return cfg;
}

/// The smallest eager coroutine type: runs until its first suspension, stores what it yields.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

struct outcome {
  std::atomic<bool> done{false};
  std::optional<mesh::result<mesh::reply<long>>> r;
};

detached await_into(mesh::future<long>& f, outcome& out) {
  auto r = co_await f;
  out.r.emplace(std::move(r));
  out.done = true;
}

detached await_temporary(co_node& n, outcome& out) {
  out.r.emplace(co_await n.call_async<Leaf>("x", Ping{41}));
  out.done = true;
}

}  // namespace co_test

using namespace co_test;

TEST_CASE("coroutine handler frees its only worker while it awaits another actor") {
  obs.reset();
  co_node n{config(1)};
  n.register_capabilities<co_cap>();
  // Leaf L and M are held on two threads of their own (a synchronous call to an idle
  // activation runs on the caller's thread).
  std::thread hold_l([&] { (void)n.call<Leaf>("L", Block{}); });
  std::thread hold_m([&] { (void)n.call<Leaf>("M", Block{}); });
  REQUIRE(eventually([] { return obs.holding.load() == 2; }));

  // Two tasks on the single worker await L and M; a task that held its worker would leave the
  // other one queued behind it.
  auto a = n.call_async<Hub>("a", Relay{"L", 1});
  auto b = n.call_async<Hub>("b", Relay{"M", 2});
  REQUIRE(eventually([] { return obs.awaiting.load() == 2; }));

  // 200 calls run on that worker meanwhile.
  std::vector<mesh::future<long>> pings;
  for (int i = 0; i < 200; ++i) pings.push_back(n.call_async<Leaf>("p" + std::to_string(i % 20), Ping{i}));
  for (int i = 0; i < 200; ++i) {
    auto r = pings[static_cast<std::size_t>(i)].get();
    REQUIRE(r.has_value());
    CHECK(r->value == i + 1);
  }
  CHECK(obs.awaiting.load() == 2);

  // a finishes while b still waits: had b's wait been nested on a's stack (a blocking wait that
  // runs queued work), a could not return before b.
  obs.gate_l.open();
  auto ra = a.get(10s);
  REQUIRE(ra.has_value());
  CHECK(ra->value == 2);
  CHECK(ra->ref.id == "a");
  obs.gate_m.open();
  auto rb = b.get(10s);
  REQUIRE(rb.has_value());
  CHECK(rb->value == 3);
  hold_l.join();
  hold_m.join();
}

TEST_CASE("coroutine handler's activation takes no other message until its task finishes") {
  obs.reset();
  co_node n{config(2)};
  n.register_capabilities<co_cap>();
  std::thread hold([&] { (void)n.call<Leaf>("L", Block{}); });
  REQUIRE(eventually([] { return obs.holding.load() == 1; }));

  std::vector<mesh::future<long>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(n.call_async<Hub>("h", Relay{"L", i}));
  REQUIRE(eventually([] { return obs.awaiting.load() == 1; }));
  // The first task waits for L; the other 19 messages stay queued, and a plain handler of the
  // same activation waits behind them too.
  auto seen = n.call_async<Hub>("h", Seen{});
  CHECK_FALSE(seen.wait_for(50ms));
  obs.gate_l.open();
  for (int i = 0; i < 20; ++i) {
    auto r = fs[static_cast<std::size_t>(i)].get();
    REQUIRE(r.has_value());
    CHECK(r->value == i + 1);
  }
  auto s = seen.get();
  REQUIRE(s.has_value());
  CHECK(s->value == 20);
  CHECK(obs.overlaps.load() == 0);
  hold.join();
}

TEST_CASE("coroutine handler replies to casts, synchronous calls and task<void> callers") {
  obs.reset();
  co_node n{config(2)};
  n.register_capabilities<co_cap>();
  auto r = n.call<Hub>("s", Relay{"x", 10});  // synchronous caller: queued, not run inline
  REQUIRE(r.has_value());
  CHECK(r->value == 11);
  REQUIRE(n.cast<Hub>("s", Relay{"x", 1}).has_value());
  auto t = n.call<Hub>("s", Touch{});  // a task that never suspends
  REQUIRE(t.has_value());
  CHECK(t->ref.id == "s");
  auto seen = n.call<Hub>("s", Seen{});
  REQUIRE(seen.has_value());
  CHECK(seen->value == 3);
}

TEST_CASE("coroutine handler that throws rejected keeps its activation and other exceptions discard it") {
  obs.reset();
  co_node n{config(2)};
  n.register_capabilities<co_cap>();
  REQUIRE(n.call<Hub>("e", Touch{}).has_value());
  for (bool before : {true, false}) {
    CAPTURE(before);
    auto rej = n.call<Hub>("e", Fail{true, before});
    REQUIRE_FALSE(rej.has_value());
    CHECK(rej.error().code == mesh::errc::rejected);
    CHECK(rej.error().message == "no funds");
    auto kept = n.call<Hub>("e", Seen{});
    REQUIRE(kept.has_value());
    CHECK(kept->value == 1);  // the instance that counted Touch is still there
  }
  CHECK(obs.hubs_constructed.load() == 1);
  for (bool before : {true, false}) {
    CAPTURE(before);
    REQUIRE(n.call<Hub>("e", Touch{}).has_value());
    auto broke = n.call<Hub>("e", Fail{false, before});
    REQUIRE_FALSE(broke.has_value());
    CHECK(broke.error().code == mesh::errc::actor_failed);
    CHECK(broke.error().message.find("hub broke") != std::string::npos);
    auto fresh = n.call<Hub>("e", Seen{});
    REQUIRE(fresh.has_value());
    CHECK(fresh->value == 0);  // re-created
  }
  CHECK(obs.hubs_constructed.load() == 3);
}

TEST_CASE("co_await on a future in a plain coroutine yields the result get() would") {
  obs.reset();
  co_node n{config(2)};
  n.register_capabilities<co_cap>();
  outcome out;
  await_temporary(n, out);
  REQUIRE(eventually([&] { return out.done.load(); }));
  REQUIRE(out.r->has_value());
  CHECK((*out.r)->value == 42);

  mesh::future<long> empty;
  outcome none;
  await_into(empty, none);
  REQUIRE(none.done.load());
  REQUIRE_FALSE(none.r->has_value());
  CHECK(none.r->error().code == mesh::errc::invalid_argument);
}

TEST_CASE("cancel ends a pending call with timeout at once and its queued request never runs") {
  obs.reset();
  co_node n{config(2)};
  n.register_capabilities<co_cap>();
  std::thread hold([&] { (void)n.call<Leaf>("L", Block{}); });
  REQUIRE(eventually([] { return obs.holding.load() == 1; }));

  // A coroutine awaiting the call resumes with the cancellation.
  auto f = n.call_async<Leaf>("L", Ping{1});
  outcome out;
  await_into(f, out);
  CHECK_FALSE(out.done.load());
  CHECK(f.cancel());
  REQUIRE(out.done.load());  // resumed on this thread, by cancel()
  REQUIRE_FALSE(out.r->has_value());
  CHECK(out.r->error().code == mesh::errc::timeout);
  CHECK(out.r->error().message.find("cancelled") != std::string::npos);
  CHECK_FALSE(f.cancel());  // already completed

  // get() after cancel returns the same at once.
  auto g = n.call_async<Leaf>("L", Ping{2});
  CHECK(g.cancel());
  auto rg = g.get();
  REQUIRE_FALSE(rg.has_value());
  CHECK(rg.error().code == mesh::errc::timeout);

  obs.gate_l.open();
  hold.join();
  auto after = n.call<Leaf>("L", Ping{3});  // queued behind the cancelled ones, FIFO
  REQUIRE(after.has_value());
  CHECK(after->value == 4);
  CHECK(obs.pings.load() == 1);  // the cancelled requests were skipped
}

TEST_CASE("node stopping while a coroutine handler waits answers its caller") {
  obs.reset();
  std::thread hold;
  mesh::future<long> waiting;
  {
    auto cfg = config(1);
    cfg.shutdown_grace = 100ms;
    co_node n{cfg};
    n.register_capabilities<co_cap>();
    hold = std::thread([&] { (void)n.call<Leaf>("L", Block{}); });
    REQUIRE(eventually([] { return obs.holding.load() == 1; }));
    waiting = n.call_async<Hub>("w", Relay{"L", 1});
    REQUIRE(eventually([] { return obs.awaiting.load() == 1; }));
    obs.gate_l.open();  // lets the holder return while the node stops
    hold.join();
  }
  // Either the task finished before the workers stopped, or its request failed: never a hang.
  auto r = waiting.get(10s);
  if (r) CHECK(r->value == 2);
  else CHECK(r.error().code == mesh::errc::shutting_down);
}
