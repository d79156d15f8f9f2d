// Virtual actors on one node: lazy activation and init arguments, routing by capability,
// failures in handlers and constructors, idle deactivation.
#include "actors.hpp"

#include <algorithm>
#include <set>

using namespace actor_test;

TEST_CASE("activation is created lazily on its first message with that request's init_arg") {
  probe.reset();
  test_node n{local_config()};
  n.register_capabilities<counters>();
  CHECK(n.activation_count<Counter>() == 0);

  auto r = n.call(mesh::request<Counter, Add>{.id = "c1", .payload = Add{5}, .init_arg = Start{100}});
  REQUIRE(r.has_value());
  CHECK(r->value == 105);
  CHECK(probe.counter_constructed.load() == 1);
  CHECK(n.activation_count<Counter>() == 1);
  CHECK(n.activation_count() == 1);

  // Later messages reach the same instance; their init_arg is ignored.
  auto again = n.call(mesh::request<Counter, Get>{.id = "c1", .payload = Get{}, .init_arg = Start{7}});
  REQUIRE(again.has_value());
  CHECK(again->value == 105);
  auto plain = n.call<Counter>("c1", Add{1});
  REQUIRE(plain.has_value());
  CHECK(plain->value == 106);
  CHECK(probe.counter_constructed.load() == 1);
}

TEST_CASE("activation without an init_arg in its first request starts from a value-initialized init_arg") {
  probe.reset();
  test_node n{local_config()};
  n.register_capabilities<counters>();
  auto r = n.call<Counter>("fresh", Get{});
  REQUIRE(r.has_value());
  CHECK(r->value == 0);

  // The first message may equally be a cast or a call_async carrying the init argument.
  REQUIRE(n.cast(mesh::request<Counter, Add>{.id = "by-cast", .payload = Add{1}, .init_arg = Start{40}}).has_value());
  auto f = n.call_async(mesh::request<Counter, Add>{.id = "by-async", .payload = Add{2}, .init_arg = Start{50}});
  auto fr = f.get();
  REQUIRE(fr.has_value());
  CHECK(fr->value == 52);
  auto c = n.call<Counter>("by-cast", Get{});
  REQUIRE(c.has_value());
  CHECK(c->value == 41);
}

TEST_CASE("actor without init_arg is constructed from its id") {
  test_node n{local_config()};
  n.register_capabilities<counters>();
  auto a = n.call<Named>("alice", WhoAmI{});
  auto b = n.call<Named>("bob", WhoAmI{});
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->value == "alice");
  CHECK(b->value == "bob");
  CHECK(n.activation_count<Named>() == 2);
}

TEST_CASE("reply ref names the node, the actor type and the id that handled the call") {
  mesh::node_config cfg = local_config();
  cfg.name = "node-a";
  test_node n{cfg};
  n.register_capabilities<counters>();
  auto r = n.call<Counter>("c7", Add{1});
  REQUIRE(r.has_value());
  CHECK(r->ref == mesh::actor_ref{"node-a", "counter", "c7"});
  mesh::result<mesh::reply<void>> v = n.call<Counter>("c7", Reset{});
  REQUIRE(v.has_value());
  CHECK(v->ref == mesh::actor_ref{"node-a", "counter", "c7"});
  auto a = n.call_async<Named>("x", WhoAmI{}).get();
  REQUIRE(a.has_value());
  CHECK(a->ref == mesh::actor_ref{"node-a", "named", "x"});
}

TEST_CASE("call to an actor whose capability no node registered fails with no_nodes") {
  probe.reset();
  test_node n{local_config()};
  auto before = n.call<Counter>("c1", Get{});
  REQUIRE_FALSE(before.has_value());
  CHECK(before.error().code == mesh::errc::no_nodes);
  CHECK(before.error().message.find("counters") != std::string::npos);

  n.register_capabilities<work>();  // not "counters"
  auto r = n.call<Counter>("c1", Get{});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::no_nodes);
  auto c = n.cast<Counter>("c1", Add{1});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().code == mesh::errc::no_nodes);
  auto f = n.call_async<Counter>("c1", Get{}).get();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().code == mesh::errc::no_nodes);
  CHECK(probe.counter_constructed.load() == 0);
  CHECK(n.activation_count<Counter>() == 0);

  // The registered capability routes normally on the same node.
  CHECK(n.call<Gated>("g", Ping{}).has_value());
}

TEST_CASE("single node reports its own capabilities, placement and shards") {
  mesh::node_config cfg = local_config();
  cfg.shard_count = 64;
  test_node n{cfg};
  CHECK(n.nodes_for<counters>().empty());
  CHECK(n.nodes_for("counters").empty());
  CHECK(n.all_capabilities().empty());
  auto none = n.owner_node(2451, "counters");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == mesh::errc::no_nodes);

  n.register_capabilities<counters, work>();
  n.register_capabilities({"zeta", "alpha", "counters"});  // by name; duplicates are merged
  CHECK(n.nodes_for<counters>() == std::vector<std::string>{"n1"});
  CHECK(n.nodes_for<work>() == std::vector<std::string>{"n1"});
  CHECK(n.nodes_for("zeta") == std::vector<std::string>{"n1"});
  CHECK(n.nodes_for<elsewhere>().empty());
  CHECK(n.all_capabilities() == std::vector<std::string>{"alpha", "counters", "work", "zeta"});

  for (std::uint32_t shard : {0u, 1u, 63u, 2451u, 4095u}) {
    auto o = n.owner_node(shard, "alpha");
    REQUIRE(o.has_value());
    CHECK(*o == "n1");
    auto t = n.owner_node<work>(shard);
    REQUIRE(t.has_value());
    CHECK(*t == "n1");
  }
  auto missing = n.owner_node(7, "elsewhere");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == mesh::errc::no_nodes);
  CHECK(missing.error().message.find("elsewhere") != std::string::npos);

  CHECK(n.shard_for("player_123") == mesh::shard_for("player_123", 64));
  CHECK(n.shard_for("player_123") < 64);
  test_node d{local_config()};
  CHECK(d.shard_for("player_123") == mesh::shard_for("player_123"));
}

TEST_CASE("a handler that throws mesh::rejected fails the call with rejected and keeps the activation's state") {
  probe.reset();
  test_node n{local_config()};
  n.register_capabilities<counters>();
  REQUIRE(n.call(mesh::request<Counter, Add>{.id = "acct", .payload = Add{110}, .init_arg = Start{0}}).has_value());
  auto r = n.call<Counter>("acct", Withdraw{500});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::rejected);
  CHECK(r.error().message == "insufficient funds: balance 110");
  // Through the mailbox too; the balance and the instance are the same afterwards.
  auto a = n.call_async<Counter>("acct", Withdraw{111}).get();
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().code == mesh::errc::rejected);
  auto balance = n.call<Counter>("acct", Get{});
  REQUIRE(balance.has_value());
  CHECK(balance->value == 110);
  CHECK(probe.counter_constructed.load() == 1);
  auto ok = n.call<Counter>("acct", Withdraw{10});
  REQUIRE(ok.has_value());
  CHECK(ok->value == 100);
}

TEST_CASE("throwing handler fails the call with actor_failed carrying what() and resets the activation") {
  probe.reset();
  test_node n{local_config()};
  n.register_capabilities<counters>();
  REQUIRE(n.call(mesh::request<Counter, Add>{.id = "c1", .payload = Add{5}, .init_arg = Start{10}}).has_value());
  REQUIRE(n.call<Counter>("other", Add{42}).has_value());
  REQUIRE(probe.counter_constructed.load() == 2);

  auto r = n.call<Counter>("c1", Boom{"disk on fire"});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::actor_failed);
  CHECK(r.error().message.find("disk on fire") != std::string::npos);

  // The next message re-creates the actor: fresh state, built with that message's init_arg.
  auto fresh = n.call(mesh::request<Counter, Get>{.id = "c1", .payload = Get{}, .init_arg = Start{3}});
  REQUIRE(fresh.has_value());
  CHECK(fresh->value == 3);
  CHECK(probe.counter_constructed.load() == 3);

  // Other activations keep their state.
  auto other = n.call<Counter>("other", Get{});
  REQUIRE(other.has_value());
  CHECK(other->value == 42);

  // The same through the mailbox (call_async), with a non-std exception, and through a cast.
  REQUIRE(n.call<Counter>("c1", Add{10}).has_value());
  auto fa = n.call_async<Counter>("c1", BoomNonStd{}).get();
  REQUIRE_FALSE(fa.has_value());
  CHECK(fa.error().code == mesh::errc::actor_failed);
  auto after_async = n.call<Counter>("c1", Get{});
  REQUIRE(after_async.has_value());
  CHECK(after_async->value == 0);

  REQUIRE(n.call<Counter>("c1", Add{10}).has_value());
  REQUIRE(n.cast<Counter>("c1", Boom{"cast failure"}).has_value());
  auto after_cast = n.call<Counter>("c1", Get{});  // queued behind the cast
  REQUIRE(after_cast.has_value());
  CHECK(after_cast->value == 0);
}

TEST_CASE("throwing constructor fails the call with actor_failed and does not leave a broken instance") {
  test_node n{local_config()};
  n.register_capabilities<counters>();
  auto r = n.call<Fragile>("bad-1", Ping{});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::actor_failed);
  CHECK(r.error().message.find("refusing to start bad-1") != std::string::npos);

  auto again = n.call_async<Fragile>("bad-1", Ping{}).get();  // retried through the mailbox
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == mesh::errc::actor_failed);

  auto good = n.call<Fragile>("good", Ping{});
  REQUIRE(good.has_value());
  CHECK(good->value == 1);
  auto good2 = n.call<Fragile>("good", Ping{});
  REQUIRE(good2.has_value());
  CHECK(good2->value == 2);
}

TEST_CASE("idle activations are deactivated after idle_timeout with on_deactivate and re-created on demand") {
  probe.reset();
  mesh::node_config cfg = local_config();
  cfg.idle_timeout = 50ms;
  test_node n{cfg};
  n.register_capabilities<counters>();
  for (int i = 0; i < 5; ++i)
    REQUIRE(n.call(mesh::request<Counter, Add>{.id = "c" + std::to_string(i), .payload = Add{1}, .init_arg = Start{100}})
                .has_value());
  CHECK(n.activation_count<Counter>() == 5);

  // on_deactivate runs right after an activation leaves the table: wait for both.
  CHECK(eventually([&] { return n.activation_count<Counter>() == 0 && probe.counter_deactivated.load() == 5; }));
  CHECK(n.activation_count<Counter>() == 0);
  CHECK(probe.counter_deactivated.load() == 5);

  // A new message re-creates the actor from scratch (its init_arg applies again).
  auto r = n.call(mesh::request<Counter, Get>{.id = "c0", .payload = Get{}, .init_arg = Start{7}});
  REQUIRE(r.has_value());
  CHECK(r->value == 7);
  CHECK(probe.counter_constructed.load() == 6);
}

TEST_CASE("an on_deactivate that throws is logged, and the activation still goes and comes back fresh") {
  probe.reset();
  auto lines = std::make_shared<std::vector<std::string>>();
  auto m = std::make_shared<std::mutex>();
  mesh::node_config cfg = local_config();
  cfg.logger = [lines, m](std::string_view l) {
    std::lock_guard lk(*m);
    lines->emplace_back(l);
  };
  test_node n{cfg};
  n.register_capabilities<work>();
  REQUIRE(n.call<Gated>("d", Ping{}).has_value());
  REQUIRE(n.call<Gated>("d", Ping{}).has_value());
  probe.deactivate_throws = true;
  std::this_thread::sleep_for(20ms);
  CHECK(n.deactivate_idle(10ms) == 1);
  CHECK(n.activation_count<Gated>() == 0);
  CHECK(probe.gated_deactivated.load() == 1);
  {
    std::lock_guard lk(*m);
    REQUIRE(lines->size() == 1);
    CHECK(lines->front().find("on_deactivate() of actor 'gated' id 'd' threw: cannot save state") != std::string::npos);
  }
  probe.deactivate_throws = false;
  auto r = n.call<Gated>("d", Ping{});
  REQUIRE(r.has_value());
  CHECK(r->value == 1);  // a fresh instance
}

TEST_CASE("deactivate_idle deactivates only activations idle at least that long and never a busy one") {
  probe.reset();
  test_node n{local_config()};  // idle_timeout 0: no automatic deactivation
  n.register_capabilities<counters, work>();
  for (int i = 0; i < 3; ++i) REQUIRE(n.call<Counter>("c" + std::to_string(i), Add{5}).has_value());
  auto held = n.call_async<Gated>("busy", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 1; }));
  std::this_thread::sleep_for(30ms);

  CHECK(n.deactivate_idle(1h) == 0);
  CHECK(n.activation_count() == 4);
  CHECK(n.deactivate_idle(10ms) == 3);  // the three counters; "busy" is in its handler
  CHECK(n.activation_count<Counter>() == 0);
  CHECK(n.activation_count<Gated>() == 1);
  CHECK(probe.counter_deactivated.load() == 3);
  CHECK(probe.gated_deactivated.load() == 0);

  auto r = n.call<Counter>("c1", Get{});
  REQUIRE(r.has_value());
  CHECK(r->value == 0);  // fresh state

  probe.hold_gate.open();
  auto h = held.get();
  REQUIRE(h.has_value());
  CHECK(h->value == true);
  auto still = n.call<Gated>("busy", Handled{});
  REQUIRE(still.has_value());
  CHECK(still->value == 1);  // the same instance that ran Hold
}

TEST_CASE("call with an id longer than the frame header allows fails with invalid_argument") {
  test_node n{local_config()};
  n.register_capabilities<counters>();
  std::string const huge(mesh::max_id_bytes + 1, 'x');
  auto r = n.call<Counter>(huge, Add{1});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::invalid_argument);
  CHECK(n.cast<Counter>(huge, Add{1}).error().code == mesh::errc::invalid_argument);
  CHECK(n.activation_count() == 0);
  std::string const longest(mesh::max_id_bytes, 'y');
  auto ok = n.call<Counter>(longest, Add{1});
  REQUIRE(ok.has_value());
  CHECK(ok->ref.id == longest);
}

namespace {
// A payload more aligned than operator new guarantees: queued local calls store the payload in
// the envelope's own allocation, which must honour it.
struct alignas(64) Wide {
  BOOST_HANA_DEFINE_STRUCT(Wide, (long, x));
};
struct Tiny {
  BOOST_HANA_DEFINE_STRUCT(Tiny, (long, x));
};
struct AlignProbe {
  static constexpr mesh::fixed_string name = "align_probe";
  using capability = counters;
  using messages = mesh::list<Wide, Tiny>;
  long sum = 0;
  explicit AlignProbe(std::string_view) {}
  // -1 when the payload arrived misaligned, else the running sum.
  long handle(Wide const& w) {
    if (reinterpret_cast<std::uintptr_t>(&w) % alignof(Wide) != 0) return -1;
    return sum += w.x;
  }
  long handle(Tiny const& t) { return sum += t.x; }
};
}  // namespace

TEST_CASE("queued local calls and casts keep over-aligned payloads aligned and intact") {
  mesh::node<mesh::schema<AlignProbe>> n{local_config(2)};
  n.register_capabilities<counters>();
  std::vector<mesh::future<long>> fs;
  long expected = 0;
  for (long i = 1; i <= 200; ++i) {
    expected += 2 * i + 1;
    fs.push_back(n.call_async<AlignProbe>("a", Wide{i}));  // always queued
    REQUIRE(n.cast<AlignProbe>("a", Wide{i}).has_value());
    fs.push_back(n.call_async<AlignProbe>("a", Tiny{1}));
  }
  for (auto& f : fs) {
    auto r = f.get();
    REQUIRE(r.has_value());
    CHECK(r->value > 0);  // never the misalignment marker
  }
  auto total = n.call<AlignProbe>("a", Tiny{0});
  REQUIRE(total.has_value());
  CHECK(total->value == expected);
}

namespace hidden {
template <class N> concept sees_members = requires(N& n) { n.members(); };
template <class N> concept sees_pool = requires(N& n) { n.pool(); };
template <class N> concept sees_timer = requires(N& n) { n.timer(); };
template <class N> concept sees_route_for = requires(N& n) { n.route_for("counters", "c1"); };
template <class N> concept sees_find_table = requires(N& n) { n.find_table("counter"); };
template <class N> concept sees_log = requires(N& n) { n.log("x"); };
template <class N> concept sees_config = requires(N const& n) { n.config().workers; };
}  // namespace hidden

TEST_CASE("node hides the runtime's internals from its users; library code reaches them through node_access") {
  static_assert(!hidden::sees_members<test_node> && !hidden::sees_pool<test_node> && !hidden::sees_timer<test_node>);
  static_assert(!hidden::sees_route_for<test_node> && !hidden::sees_find_table<test_node> && !hidden::sees_log<test_node>);
  static_assert(hidden::sees_config<test_node>);  // documented: the configuration as normalized
  test_node n{local_config(2)};
  n.register_capabilities<counters>();
  auto& core = mesh::detail::node_access::core(n);
  CHECK(core.members().nodes_for("counters") == n.nodes_for<counters>());
  CHECK(core.find_table("counter") != nullptr);
}
