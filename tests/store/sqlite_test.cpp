// mesh::stores::sqlite on real files, and the activation lifecycle of an actor with `state`
// (load before the first message, fenced write-through save, rejected, other exceptions).
#include "bank.hpp"
#include "temp_dir.hpp"

#include <mesh/store/sqlite.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

mesh::node_config local(std::shared_ptr<mesh::store> st) {
  mesh::node_config c;
  c.name = "n1";
  c.workers = 2;
  c.store = std::move(st);
  return c;
}

using node = mesh::node<bank::schema>;

long balance_in(mesh::store& st, std::string_view id) {
  auto bytes = st.peek("account", id);
  REQUIRE(bytes);
  REQUIRE(bytes->has_value());
  auto d = mesh::wire::decode<bank::Account::data>(**bytes);
  REQUIRE(d);
  return d->balance;
}

}  // namespace

TEST_CASE("sqlite store claim raises the key's epoch and returns the last saved bytes") {
  temp_dir dir;
  auto st = mesh::stores::sqlite(dir.file("state.db"));
  auto c1 = st->claim("account", "a1", "n1");
  REQUIRE(c1);
  CHECK(c1->token == 1);
  CHECK_FALSE(c1->bytes.has_value());
  REQUIRE(st->save("account", "a1", std::string("\x01\x02", 2), c1->token));
  auto c2 = st->claim("account", "a1", "n2");
  REQUIRE(c2);
  CHECK(c2->token == 2);
  REQUIRE(c2->bytes.has_value());
  CHECK(*c2->bytes == std::string("\x01\x02", 2));
  auto other = st->claim("account", "a2", "n1");  // keys are independent
  REQUIRE(other);
  CHECK(other->token == 1);
}

TEST_CASE("sqlite store refuses a save or erase carrying a token older than the last claim") {
  temp_dir dir;
  auto st = mesh::stores::sqlite(dir.file("state.db"));
  auto old_owner = st->claim("account", "a1", "n1");
  REQUIRE(old_owner);
  REQUIRE(st->save("account", "a1", "old", old_owner->token));
  auto new_owner = st->claim("account", "a1", "n2");
  REQUIRE(new_owner);
  auto stale = st->save("account", "a1", "stale", old_owner->token);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == mesh::errc::rebalancing);
  CHECK(stale.error().message.find("'n2'") != std::string::npos);
  auto stale_erase = st->erase("account", "a1", old_owner->token);
  REQUIRE_FALSE(stale_erase);
  CHECK(stale_erase.error().code == mesh::errc::rebalancing);
  auto kept = st->peek("account", "a1");
  REQUIRE(kept);
  CHECK(kept->value() == "old");
  REQUIRE(st->save("account", "a1", "new", new_owner->token));
  REQUIRE(st->erase("account", "a1", new_owner->token));
  auto gone = st->peek("account", "a1");
  REQUIRE(gone);
  CHECK_FALSE(gone->has_value());
  CHECK_FALSE(st->save("account", "never-claimed", "x", 1));
}

TEST_CASE("sqlite store file is shared by two connections, as by two processes of a host") {
  temp_dir dir;
  auto first = mesh::stores::sqlite(dir.file("state.db"));
  auto second = mesh::stores::sqlite(dir.file("state.db"));
  auto c1 = first->claim("account", "a1", "n1");
  REQUIRE(c1);
  REQUIRE(first->save("account", "a1", "from n1", c1->token));
  auto c2 = second->claim("account", "a1", "n2");
  REQUIRE(c2);
  CHECK(c2->token == c1->token + 1);
  CHECK(c2->bytes.value_or("") == "from n1");
  CHECK_FALSE(first->save("account", "a1", "late", c1->token));
}

TEST_CASE("sqlite store that cannot open its file throws store_failed naming the path") {
  temp_dir dir;
  std::string const path = dir.file("no/such/dir/state.db");
  try {
    auto st = mesh::stores::sqlite(path);
    FAIL("opened " << path);
  } catch (mesh::exception const& e) {
    CHECK(e.error().code == mesh::errc::store_failed);
    CHECK(e.error().message.find(path) != std::string::npos);
  }
}

TEST_CASE("an actor with state continues from its saved state in a new node on the same file") {
  temp_dir dir;
  {
    node n{local(mesh::stores::sqlite(dir.file("state.db")))};
    n.register_capabilities<bank::accounts>();
    REQUIRE(n.call<bank::Account>("acc", bank::Deposit{100}));
    auto r = n.call<bank::Account>("acc", bank::Deposit{10});
    REQUIRE(r);
    CHECK(r->value == 110);
  }
  node n{local(mesh::stores::sqlite(dir.file("state.db")))};
  n.register_capabilities<bank::accounts>();
  auto r = n.call<bank::Account>("acc", bank::Balance{});
  REQUIRE(r);
  CHECK(r->value == 110);
  auto async = n.call_async<bank::Account>("acc", bank::Deposit{5}).get();  // the queued path saves too
  REQUIRE(async);
  CHECK(async->value == 115);
  CHECK(balance_in(*n.config().store, "acc") == 115);
}

TEST_CASE("a rejected call leaves the balance intact in memory and in the store") {
  temp_dir dir;
  auto st = mesh::stores::sqlite(dir.file("state.db"));
  node n{local(st)};
  n.register_capabilities<bank::accounts>();
  REQUIRE(n.call<bank::Account>("acc", bank::Deposit{110}));
  auto r = n.call<bank::Account>("acc", bank::Withdraw{500});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mesh::errc::rejected);
  CHECK(r.error().message == "insufficient funds");
  auto b = n.call<bank::Account>("acc", bank::Balance{});
  REQUIRE(b);
  CHECK(b->value == 110);
  CHECK(balance_in(*st, "acc") == 110);
}

TEST_CASE("another exception discards the activation and the next call sees the last saved balance") {
  temp_dir dir;
  auto st = mesh::stores::sqlite(dir.file("state.db"));
  node n{local(st)};
  n.register_capabilities<bank::accounts>();
  REQUIRE(n.call<bank::Account>("acc", bank::Deposit{110}));
  auto r = n.call<bank::Account>("acc", bank::Crash{});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mesh::errc::actor_failed);
  auto b = n.call<bank::Account>("acc", bank::Balance{});
  REQUIRE(b);
  CHECK(b->value == 110);  // not 1000110: the crashed handler's change was never saved
  CHECK(balance_in(*st, "acc") == 110);
}

TEST_CASE("a stale owner's save is refused: the call fails with rebalancing and the next one reloads") {
  temp_dir dir;
  auto st = mesh::stores::sqlite(dir.file("state.db"));
  node n{local(st)};
  n.register_capabilities<bank::accounts>();
  REQUIRE(n.call<bank::Account>("acc", bank::Deposit{100}));
  // Another node takes the id over (its claim raises the epoch) and saves its own balance.
  auto other = mesh::stores::sqlite(dir.file("state.db"));
  auto c = other->claim("account", "acc", "n2");
  REQUIRE(c);
  REQUIRE(other->save("account", "acc", mesh::wire::encode(bank::Account::data{7, 1}), c->token));
  auto r = n.call<bank::Account>("acc", bank::Deposit{1});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mesh::errc::rebalancing);
  CHECK(r.error().message.find("'n2'") != std::string::npos);
  CHECK(balance_in(*st, "acc") == 7);  // the stale write did not land
  auto b = n.call<bank::Account>("acc", bank::Balance{});  // a fresh activation claims and reloads
  REQUIRE(b);
  CHECK(b->value == 7);
}

TEST_CASE("a saved state that does not decode fails the call with bad_message and keeps no activation") {
  temp_dir dir;
  auto st = mesh::stores::sqlite(dir.file("state.db"));
  auto c = st->claim("account", "acc", "tool");
  REQUIRE(c);
  REQUIRE(st->save("account", "acc", mesh::wire::encode(std::string("not an account")), c->token));
  node n{local(st)};
  n.register_capabilities<bank::accounts>();
  auto r = n.call<bank::Account>("acc", bank::Balance{});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mesh::errc::bad_message);
  CHECK(r.error().message.find("saved state of actor 'account' id 'acc'") != std::string::npos);
  // Repaired in the store: the next call creates the activation from it.
  auto fix = st->claim("account", "acc", "tool");
  REQUIRE(fix);
  REQUIRE(st->save("account", "acc", mesh::wire::encode(bank::Account::data{42, 0}), fix->token));
  auto b = n.call<bank::Account>("acc", bank::Balance{});
  REQUIRE(b);
  CHECK(b->value == 42);
}

TEST_CASE("a stateless actor on a node with a store never touches the store") {
  temp_dir dir;
  auto st = mesh::stores::sqlite(dir.file("state.db"));
  node n{local(st)};
  n.register_capabilities<bank::accounts>();
  auto r = n.call<bank::Counter>("c", bank::Deposit{3});
  REQUIRE(r);
  CHECK(r->value == 3);
  auto none = st->peek("counter", "c");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto c = st->claim("counter", "c", "probe");  // no claim was made before this one
  REQUIRE(c);
  CHECK(c->token == 1);
}
