// Deployment settings (API.md §9): advertise, dns:// seeds, node_config::from_env, and waiting for
// a future at most so long. Real sockets on loopback; nodes in this process.
#include "cluster_fixture.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using namespace cluster_fixture;

namespace {

/// A TCP port free on 127.0.0.1 right now (bound, read, released).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t n = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_SUITE_BEGIN("deployment");

TEST_CASE("a node that binds tcp://*:port tells its peers the advertise endpoint" * doctest::timeout(60)) {
  // A raw ROUTER plays the seed and reads the node's first heartbeat: its gossip names the node.
  fake_seed fake;
  auto& seed = fake.s;
  auto const port = free_port();
  auto cfg = config("wild", {fake.endpoint});
  cfg.listen = "tcp://*:" + std::to_string(port);
  cfg.advertise = "tcp://localhost:" + std::to_string(port);
  app_node n{cfg};
  CHECK(n.endpoint() == "tcp://0.0.0.0:" + std::to_string(port));  // what it bound
  std::vector<zmq::message_t> hb;
  REQUIRE(zmq::recv_multipart(seed, std::back_inserter(hb)));
  REQUIRE(hb.size() == 3u);
  auto g = mesh::wire::decode<mesh::cluster::gossip>(std::string_view(hb[2].data<char>(), hb[2].size()));
  REQUIRE(g.has_value());
  CHECK(g->self.name == "wild");
  CHECK(g->self.endpoint == cfg.advertise);

  // And members that learn it by gossip reach it there.
  auto a = start("a", {cfg.advertise});
  auto b = start("b", {a->endpoint()});
  n.register_capabilities<app::game>();
  REQUIRE(converged({&n, a.get(), b.get()}, {"a", "b", "wild"}, {"wild"}));
  auto r = b->call<app::Counter>("x", app::Whoami{});
  REQUIRE(r.has_value());
  CHECK(r->value == "wild");
}

TEST_CASE("a dns:// seed is resolved to the addresses of its name and joined" * doctest::timeout(60)) {
  auto const port = free_port();
  auto acfg = config("a");
  acfg.listen = "tcp://127.0.0.1:" + std::to_string(port);
  app_node a{acfg};
  a.register_capabilities<app::game>();
  auto b = start("b", {"dns://localhost:" + std::to_string(port)});
  REQUIRE(converged({&a, b.get()}, {"a", "b"}, {"a"}));
  CHECK(b->call<app::Counter>("x", app::Add{1}).has_value());
  // A name that does not resolve is logged and retried, never thrown.
  auto c = start("c", {"dns://no-such-host.invalid:" + std::to_string(port), a.endpoint()});
  REQUIRE(converged({&a, b.get(), c.get()}, {"a", "b", "c"}, {"a"}));
}

TEST_CASE("node_config::from_env reads the MESH_ variables and leaves the rest at their defaults" * doctest::timeout(30)) {
  ::setenv("MESH_NAME", "env-node", 1);
  ::setenv("MESH_LISTEN", "tcp://127.0.0.1:7999", 1);
  ::setenv("MESH_ADVERTISE", "tcp://node-1.mesh:7999", 1);
  ::setenv("MESH_SEEDS", "tcp://a:1, dns://mesh-headless:7999 ,,tcp://b:2", 1);
  ::setenv("MESH_CLUSTER_SECRET", "secret-text", 1);
  auto c = mesh::node_config::from_env();
  ::unsetenv("MESH_NAME");
  ::unsetenv("MESH_LISTEN");
  ::unsetenv("MESH_ADVERTISE");
  ::unsetenv("MESH_SEEDS");
  ::unsetenv("MESH_CLUSTER_SECRET");
  CHECK(c.name == "env-node");
  CHECK(c.listen == "tcp://127.0.0.1:7999");
  CHECK(c.advertise == "tcp://node-1.mesh:7999");
  CHECK(c.seeds == std::vector<std::string>{"tcp://a:1", "dns://mesh-headless:7999", "tcp://b:2"});
  CHECK(c.cluster_secret == "secret-text");
  CHECK(c.shard_count == mesh::node_config{}.shard_count);
  auto empty = mesh::node_config::from_env();
  CHECK(empty.name.empty());
  CHECK(empty.seeds.empty());
}

TEST_CASE("future::get(timeout) returns timeout promptly and the call can still be waited for" * doctest::timeout(60)) {
  pair_fixture p;
  auto f = p.caller->call_async<app::Counter>("slow", app::Sleep{600});
  auto const t0 = steady::now();
  auto r = f.get(50ms);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::timeout);
  CHECK(elapsed_ms(t0) < 400);
  CHECK(f.valid());
  auto done = f.get();
  REQUIRE(done.has_value());
  CHECK(done->value == 600);
  // The same on a local call.
  auto g = p.host->call_async<app::Counter>("slow-local", app::Sleep{600});
  auto const t1 = steady::now();
  auto lr = g.get(std::chrono::milliseconds(50));
  REQUIRE_FALSE(lr.has_value());
  CHECK(lr.error().code == mesh::errc::timeout);
  CHECK(elapsed_ms(t1) < 400);
}

TEST_CASE("unregister_capabilities moves a capability's shards to the nodes that still host it" * doctest::timeout(60)) {
  auto a = start("a");
  auto b = start("b", {a->endpoint()});
  a->register_capabilities<app::game>();
  b->register_capabilities<app::game>();
  REQUIRE(converged({a.get(), b.get()}, {"a", "b"}, {"a", "b"}));
  for (int i = 0; i < 40; ++i) REQUIRE(a->call<app::Counter>("u" + std::to_string(i), app::Add{1}).has_value());
  REQUIRE(b->activation_count<app::Counter>() > 0u);
  b->unregister_capabilities({"game"});
  CHECK(b->nodes_for<app::game>() == names{"a"});
  REQUIRE(converged({a.get(), b.get()}, {"a", "b"}, {"a"}));
  CHECK(b->activation_count<app::Counter>() == 0u);  // idle activations retired at once
  for (int i = 0; i < 40; ++i) {
    auto r = b->call<app::Counter>("u" + std::to_string(i), app::Whoami{});
    REQUIRE(r.has_value());
    CHECK(r->value == "a");
  }
  // Unregistering the last host: no node for it anywhere.
  a->unregister_capabilities<app::game>();
  REQUIRE(converged({a.get(), b.get()}, {"a", "b"}, {}));
  auto none = b->call<app::Counter>("x", app::Get{});
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == mesh::errc::no_nodes);
}

TEST_CASE("a void handler's reply body on the wire is msgpack nil, as docs/wire.md says" * doctest::timeout(60)) {
  pair_fixture p;
  auto reset = counter_call("v", 2, mesh::wire::encode(app::Reset{}));  // Reset: a void handler
  auto answer = raw_request(p.host->endpoint(), reset);
  REQUIRE(answer.has_value());
  REQUIRE(answer->h.k == mesh::wire::kind::reply);
  REQUIRE(answer->body.size() == 1u);
  CHECK(answer->body[0] == std::string(1, static_cast<char>(0xc0)));
  CHECK(p.caller->call<app::Counter>("v", app::Reset{}).has_value());  // and mesh callers read it
}

TEST_SUITE_END();
