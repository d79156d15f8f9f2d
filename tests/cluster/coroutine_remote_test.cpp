// Coroutine handlers and co_await across two nodes on loopback: a task handler that awaits a
// remote actor, called by a remote caller, and co_await on a remote call in a plain coroutine.
#include "cluster_fixture.hpp"

#include <mesh/mesh.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>

namespace co_remote {

using namespace std::chrono_literals;

struct leaves : mesh::capability<"co_leaves"> {};
struct hubs : mesh::capability<"co_hubs"> {};

struct Ping {
  BOOST_HANA_DEFINE_STRUCT(Ping, (long, v));
};
struct Relay {
  BOOST_HANA_DEFINE_STRUCT(Relay, (long, v));
};
struct Seen {};

struct Leaf {
  static constexpr mesh::fixed_string name = "co_remote_leaf";
  using capability = leaves;
  using messages = mesh::list<Ping>;
  explicit Leaf(std::string_view) {}
  long handle(Ping const& p) { return p.v + 1; }
};

struct Hub {
  static constexpr mesh::fixed_string name = "co_remote_hub";
  using capability = hubs;
  using messages = mesh::list<Relay, Seen>;
  explicit Hub(std::string_view) {}
  /// Asks a Leaf (on the other node) twice, one co_await after the other.
  mesh::task<long> handle(Relay const& r, mesh::context& ctx) {
    auto a = co_await ctx.call_async<Leaf>("l" + std::to_string(r.v), Ping{r.v});
    if (!a) throw mesh::rejected{a.error().message};
    auto b = co_await ctx.call_async<Leaf>("m" + std::to_string(r.v), Ping{a->value});
    if (!b) throw mesh::rejected{b.error().message};
    ++relayed;
    co_return b->value;
  }
  long handle(Seen const&) { return relayed; }
  long relayed = 0;
};

using schema = mesh::schema<Leaf, Hub>;
using co_node = mesh::node<schema>;

struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

detached await_remote(co_node& n, std::atomic<long>& out) {
  auto r = co_await n.call_async<Leaf>("z", Ping{99});
  out = r ? r->value : -1;
}

}  // namespace co_remote

using namespace co_remote;

TEST_CASE("coroutine handler awaits a remote actor and answers a remote caller" * doctest::timeout(60)) {
  auto leaf_cfg = cluster_fixture::config("leafs");
  auto hub_cfg = cluster_fixture::config("hubs");
  hub_cfg.workers = 1;
  co_node leaf_node{leaf_cfg};
  hub_cfg.seeds = {leaf_node.endpoint()};
  co_node hub_node{hub_cfg};
  leaf_node.register_capabilities<leaves>();
  hub_node.register_capabilities<hubs>();
  REQUIRE(cluster_fixture::wait_until([&] {
    return leaf_node.nodes_for<hubs>() == std::vector<std::string>{"hubs"} &&
           hub_node.nodes_for<leaves>() == std::vector<std::string>{"leafs"};
  }));

  // 50 calls from the leaf node to hub activations on the other node (one worker there); each
  // task awaits two calls back to the leaf node.
  std::vector<mesh::future<long>> fs;
  for (long i = 0; i < 50; ++i) fs.push_back(leaf_node.call_async<Hub>("h" + std::to_string(i % 5), Relay{i}));
  for (long i = 0; i < 50; ++i) {
    auto r = fs[static_cast<std::size_t>(i)].get(20s);
    REQUIRE(r.has_value());
    CHECK(r->value == i + 2);
    CHECK(r->ref.node == "hubs");
  }
  REQUIRE(leaf_node.cast<Hub>("h0", Relay{7}).has_value());  // a remote cast runs the task too
  CHECK(cluster_fixture::wait_until([&] {
    auto s = leaf_node.call<Hub>("h0", Seen{});
    return s && s->value == 11;
  }));

  std::atomic<long> out{0};
  await_remote(hub_node, out);  // resumes on the thread that reads the reply
  CHECK(cluster_fixture::wait_until([&] { return out.load() != 0; }));
  CHECK(out.load() == 100);
}
