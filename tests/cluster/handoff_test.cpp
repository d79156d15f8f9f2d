// Handoff (docs/state.md): when a shard moves between live nodes (a join, a graceful leave, an
// unregister_capabilities), the idle activations of an actor with a `state` move to the new owner
// with that state. Real nodes on loopback TCP; 300 accounts, each balance checked after the move.
#include "../store/bank.hpp"
#include "cluster_fixture.hpp"

#include <mesh/cluster/placement.hpp>
#include <mesh/cluster/shard.hpp>
#include <mesh/store/store.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using bank_node = mesh::node<bank::schema>;
using names = std::vector<std::string>;

constexpr int accounts = 300;

std::string account_id(int i) { return "acc-" + std::to_string(i); }
long expected_balance(int i) { return 1000 + i; }

template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds timeout = 10000ms) {
  auto const until = steady::now() + timeout;
  while (!pred()) {
    if (steady::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

mesh::node_config config(std::string name, names seeds = {}) {
  mesh::node_config c;
  c.name = std::move(name);
  c.listen = "tcp://127.0.0.1:*";
  c.seeds = std::move(seeds);
  c.heartbeat_interval = 50ms;
  c.failure_timeout = 1000ms;
  c.shutdown_grace = 300ms;
  c.workers = 2;
  c.logger = [](std::string_view) {};
  return c;
}

/// A store in memory, shared by the nodes of one test: claims and fenced saves as the real ones.
class memory_store final : public mesh::store {
 public:
  mesh::result<mesh::claimed_state> claim(std::string_view actor, std::string_view id, std::string_view owner) override {
    std::lock_guard lk(m_);
    auto& e = keys_[key(actor, id)];
    ++e.epoch;
    e.owner = owner;
    return mesh::claimed_state{e.bytes, e.epoch};
  }
  mesh::result<void> save(std::string_view actor, std::string_view id, std::string_view bytes, std::uint64_t token) override {
    std::lock_guard lk(m_);
    auto& e = keys_[key(actor, id)];
    if (e.epoch != token) {
      ++refused_;
      return mesh::fail(mesh::errc::rebalancing, "fenced");
    }
    e.bytes = std::string(bytes);
    return {};
  }
  mesh::result<void> erase(std::string_view actor, std::string_view id, std::uint64_t) override {
    std::lock_guard lk(m_);
    keys_.erase(key(actor, id));
    return {};
  }
  mesh::result<std::optional<std::string>> peek(std::string_view actor, std::string_view id) override {
    std::lock_guard lk(m_);
    auto it = keys_.find(key(actor, id));
    return it == keys_.end() ? std::optional<std::string>{} : it->second.bytes;
  }
  std::string describe() const override { return "memory"; }
  std::string owner_of(std::string_view id) {
    std::lock_guard lk(m_);
    return keys_[key("account", id)].owner;
  }
  std::size_t refused() {
    std::lock_guard lk(m_);
    return refused_;
  }

 private:
  struct entry {
    std::uint64_t epoch = 0;
    std::string owner;
    std::optional<std::string> bytes;
  };
  static std::string key(std::string_view actor, std::string_view id) { return std::string(actor) + '/' + std::string(id); }
  std::mutex m_;
  std::map<std::string, entry> keys_;
  std::size_t refused_ = 0;
};

std::unique_ptr<bank_node> start(std::string name, names seeds = {}, std::shared_ptr<mesh::store> st = nullptr) {
  auto cfg = config(std::move(name), std::move(seeds));
  cfg.store = std::move(st);
  auto n = std::make_unique<bank_node>(cfg);
  n->register_capabilities<bank::accounts>();
  return n;
}

bool converged(std::vector<bank_node*> const& nodes, names const& hosts) {
  return wait_until([&] {
    for (auto* n : nodes)
      if (n->cluster_members() != hosts || n->nodes_for<bank::accounts>() != hosts) return false;
    return true;
  });
}

std::size_t activations(bank_node const& n) {
  for (auto const& a : n.metrics().actors)
    if (a.actor == "account") return a.activations;
  return 0;
}

/// How many of the accounts each of `hosts` (sorted) owns: the placement the nodes use.
std::map<std::string, std::size_t> owned_counts(names const& hosts, mesh::node_config const& cfg) {
  std::map<std::string, std::size_t> out;
  for (auto const& h : hosts) out[h] = 0;
  for (int i = 0; i < accounts; ++i)
    ++out[hosts[mesh::cluster::owner_index(cfg.placement, mesh::shard_for(account_id(i), cfg.shard_count), hosts)]];
  return out;
}

/// Waits until every node holds exactly the activations it owns (the moves are done: the old
/// owners retired theirs, the new owners installed what was handed off).
bool settled(std::vector<bank_node*> const& nodes, names const& hosts) {
  auto const want = owned_counts(hosts, nodes.front()->config());
  return wait_until([&] {
    for (auto* n : nodes)
      if (activations(*n) != (want.count(n->name()) ? want.at(n->name()) : 0)) return false;
    return true;
  });
}

void deposit_all(bank_node& via) {
  for (int i = 0; i < accounts; ++i) {
    auto r = via.call<bank::Account>(account_id(i), bank::Deposit{expected_balance(i)});
    if (!r) FAIL(account_id(i) << ": " << r.error().message);
  }
}

/// Balances read through `via` that are intact (the deposit, once).
int intact_balances(bank_node& via) {
  int ok = 0;
  for (int i = 0; i < accounts; ++i) {
    auto r = via.call<bank::Account>(account_id(i), bank::Balance{});
    if (r && r->value == expected_balance(i)) ++ok;
    else if (!r) MESSAGE(account_id(i) << ": " << r.error().message);
    else MESSAGE(account_id(i) << ": balance " << r->value << ", expected " << expected_balance(i));
  }
  return ok;
}

std::uint64_t moved(std::vector<bank_node*> const& nodes) {
  std::uint64_t n = 0;
  for (auto* x : nodes) n += x->metrics().handoffs;
  return n;
}
std::uint64_t installed(std::vector<bank_node*> const& nodes) {
  std::uint64_t n = 0;
  for (auto* x : nodes) n += x->metrics().handoffs_in;
  return n;
}

struct two_nodes {
  std::shared_ptr<memory_store> st;
  std::unique_ptr<bank_node> a;
  std::unique_ptr<bank_node> b;
  explicit two_nodes(std::shared_ptr<memory_store> store = nullptr)
      : st(std::move(store)), a(start("a", {}, st)), b(start("b", {a->endpoint()}, st)) {
    REQUIRE(converged({a.get(), b.get()}, {"a", "b"}));
    deposit_all(*a);
    REQUIRE(settled({a.get(), b.get()}, {"a", "b"}));
  }
};

}  // namespace

TEST_CASE("handoff: a third node joins, and every balance moves with its shard (300/300)") {
  two_nodes t;
  auto const before = owned_counts({"a", "b"}, t.a->config());
  auto const after = owned_counts({"a", "b", "c"}, t.a->config());
  auto const t0 = steady::now();
  auto c = start("c", {t.a->endpoint()});
  REQUIRE(converged({t.a.get(), t.b.get(), c.get()}, {"a", "b", "c"}));
  REQUIRE(settled({t.a.get(), t.b.get(), c.get()}, {"a", "b", "c"}));
  auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  std::vector<bank_node*> all{t.a.get(), t.b.get(), c.get()};
  MESSAGE("join: " << moved(all) << " activations moved (" << installed(all) << " installed, " << after.at("c")
                   << " to the new node; a held " << before.at("a") << ", b " << before.at("b") << "); join to settled: " << ms << " ms");
  CHECK(installed(all) == moved(all));
  CHECK(installed(all) >= after.at("c"));
  CHECK(intact_balances(*t.a) == accounts);
  CHECK(intact_balances(*c) == accounts);
  CHECK(c->metrics().bad_frames == 0);
}

TEST_CASE("handoff: a graceful leave hands every balance to the remaining node (300/300)") {
  two_nodes t;
  auto const held_by_b = activations(*t.b);
  REQUIRE(held_by_b > 0);
  auto const t0 = steady::now();
  t.b.reset();  // graceful: hands off, then leaves
  REQUIRE(converged({t.a.get()}, {"a"}));
  REQUIRE(settled({t.a.get()}, {"a"}));
  auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  MESSAGE("leave: " << held_by_b << " activations moved (" << t.a->metrics().handoffs_in << " installed); leave to settled: " << ms << " ms");
  CHECK(t.a->metrics().handoffs_in == held_by_b);
  CHECK(intact_balances(*t.a) == accounts);
}

TEST_CASE("handoff: unregister_capabilities drains a node's balances to the other (300/300)") {
  two_nodes t;
  auto const held_by_a = activations(*t.a);
  REQUIRE(held_by_a > 0);
  auto const t0 = steady::now();
  t.a->unregister_capabilities<bank::accounts>();
  REQUIRE(wait_until([&] { return t.b->nodes_for<bank::accounts>() == names{"b"}; }));
  REQUIRE(settled({t.a.get(), t.b.get()}, {"b"}));
  auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  MESSAGE("unregister: " << held_by_a << " activations moved (" << t.b->metrics().handoffs_in << " installed); unregister to settled: " << ms << " ms");
  CHECK(t.b->metrics().handoffs_in == held_by_a);
  CHECK(activations(*t.a) == 0);
  CHECK(intact_balances(*t.a) == accounts);  // through the drained node: routed to b
  CHECK(intact_balances(*t.b) == accounts);
}

TEST_CASE("handoff with a store: the new owner installs the handed-off state and claims the id (300/300)") {
  two_nodes t(std::make_shared<memory_store>());
  auto c = start("c", {t.a->endpoint()}, t.st);
  REQUIRE(converged({t.a.get(), t.b.get(), c.get()}, {"a", "b", "c"}));
  REQUIRE(settled({t.a.get(), t.b.get(), c.get()}, {"a", "b", "c"}));
  std::vector<bank_node*> all{t.a.get(), t.b.get(), c.get()};
  CHECK(installed(all) == moved(all));
  CHECK(c->metrics().handoffs_in > 0);
  // Every id is claimed by its owner now (the installation claimed it), so its saves go through.
  names const hosts{"a", "b", "c"};
  int claimed_by_owner = 0;
  for (int i = 0; i < accounts; ++i)
    if (t.st->owner_of(account_id(i)) ==
        hosts[mesh::cluster::owner_index(t.a->config().placement, mesh::shard_for(account_id(i), t.a->config().shard_count), hosts)])
      ++claimed_by_owner;
  CHECK(claimed_by_owner == accounts);
  CHECK(intact_balances(*c) == accounts);
  int saved = 0;
  for (int i = 0; i < accounts; ++i)
    if (auto r = t.b->call<bank::Account>(account_id(i), bank::Deposit{1}); r && r->value == expected_balance(i) + 1) ++saved;
  CHECK(saved == accounts);
  CHECK(t.st->refused() == 0);
}

TEST_CASE("handoff: a forged or malformed handoff frame is a bad frame, never a crash") {
  two_nodes t;
  auto const bad_before = t.a->metrics().bad_frames;
  auto send = [&](std::string body) {
    mesh::wire::frame f;
    f.h.k = mesh::wire::kind::control;
    f.h.control = static_cast<std::uint16_t>(mesh::cluster::control::handoff);
    f.body.push_back(std::move(body));
    cluster_fixture::raw_dealer peer(t.a->endpoint(), 200);
    cluster_fixture::send_raw(peer.d, f);
    std::this_thread::sleep_for(50ms);  // linger 0: let it leave before the socket closes
  };
  // A well-formed handoff claiming to come from member "b", on a connection that is not b's:
  // it would overwrite acc-0's balance if it were believed.
  mesh::cluster::handoff h;
  h.from = "b";
  h.fingerprint = 0;
  h.actor = "account";
  h.entries.push_back({account_id(0), mesh::wire::encode(bank::Account::data{-1, 0})});
  send(mesh::wire::encode(h));
  send("\xc1 not msgpack");
  send(std::string(64, '\x92'));
  CHECK(wait_until([&] { return t.a->metrics().bad_frames >= bad_before + 3; }));
  CHECK(t.a->metrics().handoffs_in == 0);
  CHECK(intact_balances(*t.a) == accounts);
  CHECK(intact_balances(*t.b) == accounts);
}
