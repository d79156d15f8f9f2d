// mesh::stores::redis against a real redis-server started by each test case.
#include "bank.hpp"
#include "redis_server.hpp"

#include <mesh/store/redis.hpp>

#include <doctest/doctest.h>

#include <string>

#define MESH_REQUIRE_REDIS(server)            \
  redis_server server;                        \
  if (!server.available()) {                  \
    MESSAGE(redis_server::skip_reason());     \
    return;                                   \
  }

TEST_CASE("redis store claim raises the key's epoch and returns the last saved bytes") {
  MESH_REQUIRE_REDIS(server);
  auto st = mesh::stores::redis(server.url());
  auto c1 = st->claim("account", "a1", "n1");
  REQUIRE(c1);
  CHECK(c1->token == 1);
  CHECK_FALSE(c1->bytes.has_value());
  std::string const bytes("\x01\x00\xff", 3);  // binary-safe
  REQUIRE(st->save("account", "a1", bytes, c1->token));
  auto c2 = st->claim("account", "a1", "n2");
  REQUIRE(c2);
  CHECK(c2->token == 2);
  CHECK(c2->bytes.value_or("") == bytes);
  auto other = st->claim("acc", "ount:a1", "n1");  // a look-alike key is a different key
  REQUIRE(other);
  CHECK(other->token == 1);
}

TEST_CASE("redis store refuses a save or erase carrying a token older than the last claim") {
  MESH_REQUIRE_REDIS(server);
  auto st = mesh::stores::redis(server.url());
  auto old_owner = st->claim("account", "a1", "n1");
  REQUIRE(old_owner);
  REQUIRE(st->save("account", "a1", "old", old_owner->token));
  auto new_owner = st->claim("account", "a1", "n2");
  REQUIRE(new_owner);
  auto stale = st->save("account", "a1", "stale", old_owner->token);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == mesh::errc::rebalancing);
  CHECK(stale.error().message.find("'n2'") != std::string::npos);
  CHECK_FALSE(st->erase("account", "a1", old_owner->token));
  auto kept = st->peek("account", "a1");
  REQUIRE(kept);
  CHECK(kept->value_or("") == "old");
  REQUIRE(st->save("account", "a1", "new", new_owner->token));
  REQUIRE(st->erase("account", "a1", new_owner->token));
  auto gone = st->peek("account", "a1");
  REQUIRE(gone);
  CHECK_FALSE(gone->has_value());
  CHECK_FALSE(st->save("account", "never-claimed", "x", 1));
}

TEST_CASE("redis store calls fail with store_failed naming the server while it is down") {
  MESH_REQUIRE_REDIS(server);
  auto st = mesh::stores::redis(server.url(), {.connect_timeout = std::chrono::milliseconds(500),
                                               .command_timeout = std::chrono::milliseconds(500)});
  auto c = st->claim("account", "a1", "n1");
  REQUIRE(c);
  auto const url = server.url();
  server.stop();
  auto down = st->save("account", "a1", "x", c->token);
  REQUIRE_FALSE(down);
  CHECK(down.error().code == mesh::errc::store_failed);
  CHECK(down.error().message.find(url) != std::string::npos);
  try {
    auto unreachable = mesh::stores::redis(url, {.connect_timeout = std::chrono::milliseconds(500)});
    FAIL("connected to a stopped server");
  } catch (mesh::exception const& e) {
    CHECK(e.error().code == mesh::errc::store_failed);
  }
}

TEST_CASE("redis store rejects a url that is not tcp://host:port with invalid_argument") {
  try {
    auto st = mesh::stores::redis("tcp://127.0.0.1:notaport");
    FAIL("accepted a bad url");
  } catch (mesh::exception const& e) {
    CHECK(e.error().code == mesh::errc::invalid_argument);
  }
}

TEST_CASE("an actor with state keeps its balance in redis across nodes, rejected calls and crashes") {
  MESH_REQUIRE_REDIS(server);
  mesh::node_config c;
  c.name = "n1";
  c.workers = 2;
  c.store = mesh::stores::redis(server.url());
  {
    mesh::node<bank::schema> n{c};
    n.register_capabilities<bank::accounts>();
    REQUIRE(n.call<bank::Account>("acc", bank::Deposit{110}));
    auto r = n.call<bank::Account>("acc", bank::Withdraw{500});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == mesh::errc::rejected);
    auto crashed = n.call<bank::Account>("acc", bank::Crash{});
    REQUIRE_FALSE(crashed);
    CHECK(crashed.error().code == mesh::errc::actor_failed);
  }
  c.store = mesh::stores::redis(server.url());
  mesh::node<bank::schema> n{c};
  n.register_capabilities<bank::accounts>();
  auto b = n.call<bank::Account>("acc", bank::Balance{});
  REQUIRE(b);
  CHECK(b->value == 110);
}
