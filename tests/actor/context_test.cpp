// Virtual actors on one node talking to each other through mesh::context, and node shutdown.
#include "actors.hpp"

#include <memory>

using namespace actor_test;

TEST_CASE("handler calls other actors through its context with call and call_async") {
  test_node n{local_config(2)};
  n.register_capabilities<work>();
  auto one = n.call<Chain>("c-1", Step{1, false, "c"});  // c-1 calls c-0
  REQUIRE(one.has_value());
  CHECK(one->value == 2);

  auto sum = n.call<Fanout>("f", Fan{8});  // call_async to leaf-0..leaf-7, then get() each
  REQUIRE(sum.has_value());
  CHECK(sum->value == 28);
  auto queued = n.call_async<Fanout>("f", Fan{10}).get();  // the same from a worker thread
  REQUIRE(queued.has_value());
  CHECK(queued->value == 45);
  CHECK(n.activation_count<Leaf>() == 10);
}

TEST_CASE("call chain deeper than the worker count completes without deadlock") {
  test_node n{local_config(2)};
  n.register_capabilities<work>();
  constexpr long depth = 16;
  auto sync_chain = n.call_async<Chain>("s-16", Step{depth, false, "s"}).get();
  REQUIRE(sync_chain.has_value());
  CHECK(sync_chain->value == depth + 1);

  // Every link through ctx.call_async(...).get(): each hop goes through a mailbox and the pool.
  auto async_chain = n.call_async<Chain>("a-16", Step{depth, true, "a"}).get();
  REQUIRE(async_chain.has_value());
  CHECK(async_chain->value == depth + 1);

  // Several such chains at once on two workers.
  std::vector<mesh::future<long>> chains;
  for (int c = 0; c < 4; ++c) {
    auto const name = "p" + std::to_string(c);
    chains.push_back(n.call_async<Chain>(name + "-16", Step{depth, true, name}));
  }
  for (auto& f : chains) {
    auto r = f.get();
    REQUIRE(r.has_value());
    CHECK(r->value == depth + 1);
  }
}

TEST_CASE("concurrent fan-outs from handlers complete on a two-worker pool") {
  test_node n{local_config(2)};
  n.register_capabilities<work>();
  std::vector<mesh::future<long>> fans;
  for (int i = 0; i < 6; ++i) fans.push_back(n.call_async<Fanout>("f" + std::to_string(i), Fan{8}));
  for (auto& f : fans) {
    auto r = f.get();
    REQUIRE(r.has_value());
    CHECK(r->value == 28);
  }
}

TEST_CASE("ping-pong of casts between two actors delivers every ball") {
  probe.reset();
  test_node n{local_config(2)};
  n.register_capabilities<work>();
  constexpr long rounds = 1000;
  REQUIRE(n.cast<Player>("ping", Ball{2 * rounds - 1}).has_value());
  CHECK(eventually([&] {
    auto h = n.call<Player>("pong", Hits{});
    return h && h->value == rounds;
  }));
  auto ping = n.call<Player>("ping", Hits{});
  auto pong = n.call<Player>("pong", Hits{});
  REQUIRE(ping.has_value());
  REQUIRE(pong.has_value());
  CHECK(ping->value == rounds);
  CHECK(pong->value == rounds);
  CHECK(probe.cast_failures.load() == 0);
}

TEST_CASE("destroying a node finishes or fails queued calls with shutting_down and does not hang") {
  probe.reset();
  mesh::node_config cfg = local_config(2);
  cfg.shutdown_grace = 200ms;
  auto n = std::make_unique<test_node>(cfg);
  n->register_capabilities<work>();
  for (int a = 0; a < 4; ++a) REQUIRE(n->call<Gated>("g" + std::to_string(a), Ping{}).has_value());
  // 4 live activations x 50 messages x 20 ms: far more work than the grace period allows.
  std::vector<mesh::future<long>> pending;
  for (int i = 0; i < 50; ++i)
    for (int a = 0; a < 4; ++a) pending.push_back(n->call_async<Gated>("g" + std::to_string(a), Sleep{20}));
  std::atomic<int> continued{0};
  std::atomic<int> continued_code{-1};
  n->call_async<Gated>("g0", Sleep{20}).then([&](mesh::result<mesh::reply<long>> r) {
    continued_code = r ? 0 : static_cast<int>(r.error().code);
    ++continued;
  });
  std::this_thread::sleep_for(50ms);

  auto const t0 = clock_type::now();
  n.reset();
  CHECK(ms_since(t0) < 3000);

  int finished = 0, stopped = 0, other = 0;
  for (auto& f : pending) {
    auto r = f.get();
    if (r) ++finished;
    else if (r.error().code == mesh::errc::shutting_down) ++stopped;
    else ++other;
  }
  CHECK(other == 0);
  CHECK(finished > 0);
  CHECK(stopped > 0);
  CHECK(continued == 1);
  CHECK(continued_code == static_cast<int>(mesh::errc::shutting_down));
  CHECK(probe.gated_deactivated.load() == 4);  // on_deactivate ran for each live activation
}

TEST_CASE("destroying a node runs on_deactivate for every live activation") {
  probe.reset();
  {
    test_node n{local_config(2)};
    n.register_capabilities<counters, work>();
    for (int i = 0; i < 10; ++i) REQUIRE(n.call<Counter>("c" + std::to_string(i), Add{1}).has_value());
    REQUIRE(n.call<Gated>("g", Ping{}).has_value());
    CHECK(probe.counter_deactivated.load() == 0);
  }
  CHECK(probe.counter_deactivated.load() == 10);
  CHECK(probe.gated_deactivated.load() == 1);
}

TEST_CASE("calls made by a handler while its node stops fail with shutting_down") {
  probe.reset();
  auto n = std::make_unique<test_node>(local_config(2));
  n->register_capabilities<work>();
  REQUIRE(n->cast<Stopper>("s", CallWhileStopping{}).has_value());
  REQUIRE(eventually([] { return probe.stopper_running && probe.stop_calls_ok.load() > 0; }));

  auto const t0 = clock_type::now();
  n.reset();  // the handler is still calling; the destructor waits for it (shutdown_grace)
  CHECK(ms_since(t0) < 3000);
  CHECK(probe.stop_call_code.load() == static_cast<int>(mesh::errc::shutting_down));
  CHECK(probe.stop_cast_code.load() == static_cast<int>(mesh::errc::shutting_down));
  CHECK(probe.stop_async_code.load() == static_cast<int>(mesh::errc::shutting_down));
}
