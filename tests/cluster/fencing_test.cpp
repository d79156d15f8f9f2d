// Membership under faults (docs/fencing.md): partition_mode::keep_majority fences a node cut off
// from the majority before the others take its shards over; call chains fail fast on a cycle;
// mesh::testing::cluster's fault injection (crash, pause, partition, heal) drives it here.
#include "cluster_fixture.hpp"

#include <mesh/cluster/quorum.hpp>
#include <mesh/testing/cluster.hpp>

#include <doctest/doctest.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using namespace cluster_fixture;
using mesh::errc;

namespace {

using test_cluster = mesh::testing::cluster<app::schema>;

mesh::node_config fast() {
  mesh::node_config c;
  c.heartbeat_interval = 50ms;
  c.failure_timeout = 1000ms;  // lease: 500 ms
  c.workers = 2;
  c.shutdown_grace = 300ms;
  return c;
}

/// The node that serves `id` according to `n`'s table.
std::string owner_on(app_node& n, std::string const& id) { return *n.owner_node(n.shard_for(id), "game"); }

/// An id that node `n` places on `owner`.
std::string id_owned_by(app_node& n, std::string const& owner, std::string const& prefix) {
  for (int i = 0;; ++i) {
    auto id = prefix + std::to_string(i);
    if (owner_on(n, id) == owner) return id;
  }
}

}  // namespace

// A -> B -> A: each hop calls the next id of the path and reports what it got.
namespace cyc {
struct ring : mesh::capability<"ring"> {};
struct Bounce {
  BOOST_HANA_DEFINE_STRUCT(Bounce, (std::vector<std::string>, path));
};
struct Hop {
  static constexpr mesh::fixed_string name = "hop";
  using capability = ring;
  using messages = mesh::list<Bounce>;
  explicit Hop(std::string_view self) : id(self) {}
  std::string handle(Bounce const& b, mesh::context& ctx) {
    if (b.path.empty()) return "done at " + id;
    Bounce next{std::vector<std::string>(b.path.begin() + 1, b.path.end())};
    auto r = ctx.call<Hop>(b.path.front(), next, std::chrono::milliseconds(3000));
    if (!r) return std::string(mesh::to_string(r.error().code));
    return r->value;
  }
  std::string id;
};
using schema = mesh::schema<Hop>;
}  // namespace cyc

TEST_SUITE("fencing") {

TEST_CASE("a call chain that comes back to an activation it passed through fails at once with call_cycle" *
          doctest::timeout(60)) {
  auto cfg = fast();
  mesh::testing::cluster<cyc::schema> c{2, cfg};
  c[0].register_capabilities<cyc::ring>();
  c[1].register_capabilities<cyc::ring>();
  REQUIRE(c.wait_converged());
  // Two ids on different nodes (a remote cycle) and two on the same node (a local one).
  auto owner = [&](std::string const& id) { return *c[0].owner_node(c[0].shard_for(id), "ring"); };
  std::map<std::string, std::vector<std::string>> by_node;
  for (int i = 0; by_node["n0"].size() < 2 || by_node["n1"].size() < 2; ++i) {
    auto id = "h" + std::to_string(i);
    by_node[owner(id)].push_back(id);
  }
  auto const a = by_node["n0"][0], b = by_node["n1"][0], a2 = by_node["n0"][1];
  for (auto const& pair : {std::pair{a, b}, std::pair{a, a2}}) {
    auto const& first = pair.first;  // (not a structured binding: clang 14 cannot capture those)
    auto const& second = pair.second;
    CAPTURE(first);
    CAPTURE(second);
    auto const t0 = steady::now();
    auto r = c[1].call<cyc::Hop>(first, cyc::Bounce{{second, first}}, std::chrono::milliseconds(5000));
    REQUIRE_MESSAGE(r, r.error());
    CHECK(r->value == "call_cycle");  // not "timeout": the inner call did not wait out its deadline
    MESSAGE("cycle " << first << " -> " << second << " -> " << first << " reported after " << elapsed_ms(t0) << " ms");
    // A chain that does not come back completes.
    auto ok = c[0].call<cyc::Hop>(first, cyc::Bounce{{second}});
    REQUIRE_MESSAGE(ok, ok.error());
    CHECK(ok->value == "done at " + second);
  }
  // Separate chains through the same activations do not collide.
  auto f1 = c[0].call_async<cyc::Hop>(a, cyc::Bounce{{b}});
  auto f2 = c[1].call_async<cyc::Hop>(b, cyc::Bounce{{a2}});
  auto r1 = f1.get();
  auto r2 = f2.get();
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->value == "done at " + b);
  CHECK(r2->value == "done at " + a2);
}


TEST_CASE("quorum_until: a strict majority of voters in contact, or exactly half with the lowest name") {
  using mesh::cluster::quorum_until;
  using mesh::cluster::voter;
  using tp = mesh::detail::clock::time_point;
  auto const lease = std::chrono::milliseconds(500);
  tp const t0{std::chrono::seconds(1000)};
  tp const self = tp::max();
  // Nobody to agree with, or alone: no end.
  CHECK(quorum_until({}, lease) == tp::max());
  CHECK(quorum_until({{"a", self}}, lease) == tp::max());
  // 3 voters: self plus the fresher of the other two is a majority; both silent: none.
  CHECK(quorum_until({{"b", self}, {"a", t0}, {"c", t0 + 100ms}}, lease) == t0 + 100ms + lease);
  CHECK(quorum_until({{"b", self}, {"a", tp{}}, {"c", tp{}}}, lease) < t0);
  // 5 voters: self + 2 others needed: the second freshest contact decides.
  CHECK(quorum_until({{"e", self}, {"a", t0}, {"b", t0 + 10ms}, {"c", t0 + 20ms}, {"d", tp{}}}, lease) == t0 + 10ms + lease);
  // Even split (2 of 4): the half with the lowest name keeps serving, the other half does not.
  CHECK(quorum_until({{"a", self}, {"b", t0}, {"c", tp{}}, {"d", tp{}}}, lease) == t0 + lease);
  CHECK(quorum_until({{"c", self}, {"d", t0}, {"a", tp{}}, {"b", tp{}}}, lease) < t0);
  // 2 voters: the lowest name serves alone; the other needs it.
  CHECK(quorum_until({{"a", self}, {"b", tp{}}}, lease) == tp::max());
  CHECK(quorum_until({{"b", self}, {"a", t0}}, lease) == t0 + lease);
  // A non-voting node (no capabilities) needs a majority of the voters it knows.
  CHECK(quorum_until({{"a", t0}, {"b", t0 + 5ms}, {"c", tp{}}}, lease) == t0 + lease);
}

TEST_CASE("a member cut off from the majority fails its calls with no_quorum; the majority takes over; healing rejoins it" *
          doctest::timeout(60)) {
  test_cluster c{3, fast()};
  for (std::size_t i = 0; i < 3; ++i) c[i].register_capabilities<app::game>();
  REQUIRE(c.wait_converged());
  auto const id = id_owned_by(c[0], "n2", "cut-");
  REQUIRE(c[0].call<app::Counter>(id, app::Add{5}));

  auto const cut = steady::now();
  c.partition({{0, 1}, {2}});
  // The minority fences itself after the lease (half the failure timeout) ...
  REQUIRE(wait_until([&] {
    auto r = c[2].call<app::Counter>(id, app::Get{}, 200ms);
    return !r && r.error().code == errc::no_quorum;
  }, 3000ms));
  auto const fenced_ms = elapsed_ms(cut);
  MESSAGE("minority fenced " << fenced_ms << " ms after the cut");
  // ... before the majority takes its shards (failure_timeout after the last heartbeat).
  REQUIRE(wait_until([&] { return c[0].cluster_members() == names{"n0", "n1"} && c[1].cluster_members() == names{"n0", "n1"}; },
                     5000ms));
  auto const taken_ms = elapsed_ms(cut);
  MESSAGE("majority dropped the minority " << taken_ms << " ms after the cut");
  CHECK(fenced_ms < taken_ms);

  // The majority serves every id, the minority none, for as long as the partition lasts.
  int majority_ok = 0;
  for (int i = 0; i < 60; ++i) {
    auto const key = "p-" + std::to_string(i);
    auto r = c[1].call<app::Counter>(key, app::Whoami{});
    if (r) {
      ++majority_ok;
      CHECK(r->value != "n2");
    } else {
      MESSAGE(key << ": " << r.error());
    }
    auto m = c[2].call<app::Counter>(key, app::Whoami{}, 300ms);
    REQUIRE_FALSE(m);
    CHECK(m.error().code == errc::no_quorum);
  }
  CHECK(majority_ok == 60);
  // The minority kept its view of the cluster (it cannot tell who is gone): it rejoins as it was.
  CHECK(c[2].cluster_members() == names{"n0", "n1", "n2"});

  auto const healed = steady::now();
  c.heal();
  REQUIRE(c.wait_converged());
  REQUIRE(wait_until([&] { return c[2].call<app::Counter>(id, app::Get{}, 300ms).has_value(); }, 5000ms));
  MESSAGE("minority serving again " << elapsed_ms(healed) << " ms after healing");
  // One owner per id, the same from every member; the fenced state (5) is gone.
  auto g = c[0].call<app::Counter>(id, app::Get{});
  REQUIRE(g);
  CHECK(g->ref.node == "n2");
  CHECK(g->value == 0);
  for (int i = 0; i < 60; ++i) {
    auto const key = "p-" + std::to_string(i);
    auto a = c[0].call<app::Counter>(key, app::Whoami{});
    auto b = c[2].call<app::Counter>(key, app::Whoami{});
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->value == b->value);
    CHECK(a->value == owner_on(c[0], key));
  }
}

TEST_CASE("a paused member stops serving before the others take over, and its activations do not come back" *
          doctest::timeout(60)) {
  test_cluster c{3, fast()};
  for (std::size_t i = 0; i < 3; ++i) c[i].register_capabilities<app::game>();
  REQUIRE(c.wait_converged());
  auto const id = id_owned_by(c[0], "n2", "pause-");
  auto first = c[0].call<app::Counter>(id, app::Add{5});
  REQUIRE(first);
  CHECK(first->value == 5);

  c.pause(2);  // its I/O freezes: no heartbeats, no frames (a SIGSTOP, for its peers)
  // Its own callers see it fenced once the lease is over (its workers still run).
  REQUIRE(wait_until([&] {
    auto r = c[2].call<app::Counter>(id, app::Get{}, 200ms);
    return !r && r.error().code == errc::no_quorum;
  }, 3000ms));
  REQUIRE(wait_until([&] { return c[0].cluster_members() == names{"n0", "n1"}; }, 5000ms));
  // The id moved: a fresh activation elsewhere.
  auto moved = c[0].call<app::Counter>(id, app::Add{1});
  REQUIRE(moved);
  CHECK(moved->ref.node != "n2");
  CHECK(moved->value == 1);

  c.resume(2);
  REQUIRE(c.wait_converged());
  REQUIRE(wait_until([&] { return c[2].call<app::Counter>(id, app::Get{}, 300ms).has_value(); }, 5000ms));
  // Back on n2, the id does not resume the state it had before the pause (5): that activation
  // was fenced. (Without a store or handoff, a move starts fresh: docs/state.md.)
  auto back = c[0].call<app::Counter>(id, app::Add{1});
  REQUIRE(back);
  CHECK(back->ref.node == "n2");
  CHECK(back->value == 1);
}

TEST_CASE("partition_mode::available keeps serving on both sides of a partition (the seed's behaviour)" *
          doctest::timeout(60)) {
  auto cfg = fast();
  cfg.partition_mode = mesh::partition_mode::available;
  test_cluster c{3, cfg};
  for (std::size_t i = 0; i < 3; ++i) c[i].register_capabilities<app::game>();
  REQUIRE(c.wait_converged());
  c.partition({{0, 1}, {2}});
  REQUIRE(wait_until([&] { return c[2].cluster_members() == names{"n2"}; }, 5000ms));
  auto r = c[2].call<app::Counter>("anything", app::Whoami{});
  REQUIRE(r);
  CHECK(r->value == "n2");
  c.heal();
  CHECK(c.wait_converged());
}

TEST_CASE("a crashed member is dropped by failure detection and the survivors keep a majority" * doctest::timeout(60)) {
  test_cluster c{3, fast()};
  for (std::size_t i = 0; i < 3; ++i) c[i].register_capabilities<app::game>();
  REQUIRE(c.wait_converged());
  auto const crashed = steady::now();
  c.crash(2);
  // No leave was sent: the others find out only by failure detection.
  CHECK(c[0].cluster_members() == names{"n0", "n1", "n2"});
  REQUIRE(wait_until([&] { return c[0].cluster_members() == names{"n0", "n1"} && c[1].cluster_members() == names{"n0", "n1"}; },
                     5000ms));
  MESSAGE("crash detected after " << elapsed_ms(crashed) << " ms");
  for (int i = 0; i < 30; ++i) {
    auto r = c[1].call<app::Counter>("after-crash-" + std::to_string(i), app::Whoami{});
    REQUIRE_MESSAGE(r, r.error());
  }
}

TEST_CASE("a member refused for a schema mismatch owns no shard" * doctest::timeout(60)) {
  auto a = start("a");
  a->register_capabilities<app::game>();
  auto alt_cfg = config("x", {a->endpoint()});
  mesh::node<app::alt_schema> x{alt_cfg};
  x.register_capabilities<app::game>();
  REQUIRE(wait_until([&] { return a->transport_stats().refused_peers > 0; }));
  std::this_thread::sleep_for(300ms);  // several heartbeats: x keeps trying
  CHECK(a->nodes_for<app::game>() == names{"a"});
  for (int i = 0; i < 50; ++i) {
    auto r = a->call<app::Counter>("mm-" + std::to_string(i), app::Whoami{});
    REQUIRE_MESSAGE(r, r.error());
    CHECK(r->value == "a");
  }
}

TEST_CASE("members configured with different placements refuse each other and neither places the other" *
          doctest::timeout(60)) {
  auto a = start("a");
  a->register_capabilities<app::game>();
  auto cfg = config("b", {a->endpoint()});
  cfg.placement = mesh::placement::rendezvous;
  std::vector<std::string> lines;
  std::mutex m;
  cfg.logger = [&](mesh::log_level, std::string_view l) {
    std::lock_guard lk(m);
    lines.emplace_back(l);
  };
  app_node b{cfg};
  b.register_capabilities<app::game>();
  REQUIRE(wait_until([&] { return a->transport_stats().refused_peers > 0 && b.transport_stats().refused_peers > 0; }));
  std::this_thread::sleep_for(300ms);  // several heartbeats: they keep refusing each other
  CHECK(a->nodes_for<app::game>() == names{"a"});
  CHECK(b.nodes_for<app::game>() == names{"b"});
  bool said_why = false;
  {
    std::lock_guard lk(m);
    for (auto const& l : lines) said_why = said_why || l.find("placement differs") != std::string::npos;
  }
  CHECK(said_why);
  auto r = a->call<app::Counter>("p-1", app::Whoami{});
  REQUIRE(r);
  CHECK(r->value == "a");
}

TEST_CASE("casts that cannot be delivered are counted in transport_stats().cast_drops" * doctest::timeout(60)) {
  test_cluster c{3, fast()};
  for (std::size_t i = 0; i < 3; ++i) c[i].register_capabilities<app::game>();
  REQUIRE(c.wait_converged());
  auto const id = id_owned_by(c[0], "n2", "cast-");
  c.partition({{0, 1}, {2}});
  // The minority fences itself; a cast through it has nowhere to go (no_quorum at once).
  REQUIRE(wait_until([&] { return !c[2].call<app::Counter>(id, app::Get{}, 100ms); }, 3000ms));
  auto refused = c[2].cast<app::Counter>(id, app::Add{1});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::no_quorum);
  c.heal();
  REQUIRE(c.wait_converged());
  // A cast the owner refuses (here: sent for an id it no longer owns is what a stale router
  // does; an over-full mailbox is the other way) is counted where it was dropped. A raw frame to
  // n0 for an id n0 does not own is the simplest stale router.
  auto const before = c[0].transport_stats().cast_drops;
  raw_dealer d(c[0].endpoint(), 500);
  auto const other = id_owned_by(c[0], "n1", "stale-");
  auto f = counter_call(other, 0, mesh::wire::encode(app::Add{1}));
  f.h.k = mesh::wire::kind::cast;
  send_raw(d.d, f);
  REQUIRE(wait_until([&] { return c[0].transport_stats().cast_drops == before + 1; }, 3000ms));
}

}  // TEST_SUITE("fencing")
