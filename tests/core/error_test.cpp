// errc, error, exception and result<T>: run-time failures are values.
#include <mesh/core/error.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
};

mesh::result<int> parse_positive(int v) {
  if (v <= 0) return mesh::fail(mesh::errc::invalid_argument, "value must be positive");
  return v;
}

}  // namespace

TEST_CASE("errc numbers are the documented wire numbers") {
  using mesh::errc;
  static_assert(std::is_same_v<std::underlying_type_t<errc>, std::uint16_t>);
  CHECK(static_cast<int>(errc::ok) == 0);
  CHECK(static_cast<int>(errc::no_nodes) == 1);
  CHECK(static_cast<int>(errc::timeout) == 2);
  CHECK(static_cast<int>(errc::node_unreachable) == 3);
  CHECK(static_cast<int>(errc::actor_failed) == 4);
  CHECK(static_cast<int>(errc::rebalancing) == 5);
  CHECK(static_cast<int>(errc::schema_mismatch) == 6);
  CHECK(static_cast<int>(errc::bad_message) == 7);
  CHECK(static_cast<int>(errc::unauthorized) == 8);
  CHECK(static_cast<int>(errc::shutting_down) == 9);
  CHECK(static_cast<int>(errc::overloaded) == 10);
  CHECK(static_cast<int>(errc::not_found) == 11);
  CHECK(static_cast<int>(errc::already_exists) == 12);
  CHECK(static_cast<int>(errc::type_mismatch) == 13);
  CHECK(static_cast<int>(errc::invalid_argument) == 14);
  CHECK(static_cast<int>(errc::too_large) == 15);
  CHECK(static_cast<int>(errc::rejected) == 16);
  CHECK(static_cast<int>(errc::no_quorum) == 17);
  CHECK(static_cast<int>(errc::call_cycle) == 18);
  CHECK(static_cast<int>(errc::store_failed) == 19);
}

TEST_CASE("errc to_string gives each code its lower-case name at compile time") {
  using mesh::errc;
  static_assert(mesh::to_string(errc::no_nodes) == "no_nodes");
  static_assert(mesh::to_string(errc::bad_message) == "bad_message");
  static_assert(mesh::is_known(errc::type_mismatch));
  static_assert(!mesh::is_known(static_cast<errc>(20)));
  static_assert(!mesh::is_known(static_cast<errc>(0xffff)));
  std::vector<std::string> names;
  for (int i = 0; i <= 19; ++i) {
    auto const c = static_cast<errc>(i);
    CHECK(mesh::is_known(c));
    std::string n{mesh::to_string(c)};
    for (char ch : n) CHECK(((ch >= 'a' && ch <= 'z') || ch == '_'));
    names.push_back(n);
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) CHECK(names[i] != names[j]);
  CHECK(mesh::to_string(static_cast<errc>(999)) == "unknown");
}

TEST_CASE("error prints as code and message and compares by both") {
  mesh::error const e = mesh::fail(mesh::errc::no_nodes, "no node registered capability 'game'");
  CHECK(e.code == mesh::errc::no_nodes);
  std::ostringstream os;
  os << e;
  CHECK(os.str() == "no_nodes: no node registered capability 'game'");
  CHECK(e == mesh::error{mesh::errc::no_nodes, "no node registered capability 'game'"});
  CHECK(e != mesh::error{mesh::errc::no_nodes, "other"});
  CHECK(e != mesh::error{mesh::errc::timeout, "no node registered capability 'game'"});
  CHECK(mesh::error{}.code == mesh::errc::ok);
}

TEST_CASE("exception carries the error and a what() text naming code and message") {
  mesh::exception const x{mesh::fail(mesh::errc::timeout, "call to counter/c1 timed out")};
  CHECK(x.error().code == mesh::errc::timeout);
  CHECK(std::string(x.what()) == "timeout: call to counter/c1 timed out");
  static_assert(std::is_base_of_v<std::exception, mesh::exception>);
}

TEST_CASE("result holds a value with the std::expected accessors") {
  mesh::result<int> r = parse_positive(5);
  REQUIRE(r.has_value());
  CHECK(static_cast<bool>(r));
  CHECK(r.value() == 5);
  CHECK(*r == 5);
  CHECK(r.value_or(7) == 5);

  mesh::result<std::string> s = std::string("hello");
  CHECK(s->size() == 5);
  *s += "!";
  CHECK(s.value() == "hello!");
  std::string moved = *std::move(s);
  CHECK(moved == "hello!");

  mesh::result<std::string> from_literal = "literal";  // converting constructor
  CHECK(*from_literal == "literal");

  mesh::result<int> def;  // default-constructible T: value-initialized
  CHECK(def.has_value());
  CHECK(*def == 0);
}

TEST_CASE("result holds an error and value() throws mesh::exception with it") {
  mesh::result<int> r = parse_positive(-1);
  REQUIRE_FALSE(r.has_value());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.error().code == mesh::errc::invalid_argument);
  CHECK(r.error().message == "value must be positive");
  CHECK(r.value_or(7) == 7);
  CHECK_THROWS_AS((void)r.value(), mesh::exception);
  try {
    (void)*r;
    FAIL("operator* on an error must throw");
  } catch (mesh::exception const& e) {
    CHECK(e.error() == r.error());
  }
  mesh::error taken = std::move(r).error();
  CHECK(taken.code == mesh::errc::invalid_argument);
}

TEST_CASE("result copies, moves and reassigns between value and error") {
  mesh::result<std::vector<int>> a = std::vector<int>{1, 2, 3};
  mesh::result<std::vector<int>> b = mesh::fail(mesh::errc::overloaded, "full");
  auto c = a;
  CHECK(c->size() == 3);
  c = b;
  CHECK_FALSE(c.has_value());
  CHECK(c.error().code == mesh::errc::overloaded);
  c = a;
  CHECK(c.has_value());
  CHECK(*c == std::vector<int>{1, 2, 3});
  auto d = std::move(b);
  CHECK(d.error().message == "full");
  a = std::move(d);
  CHECK_FALSE(a.has_value());
}

TEST_CASE("result works with move-only and non-default-constructible types") {
  mesh::result<std::unique_ptr<int>> p = std::make_unique<int>(42);
  REQUIRE(p.has_value());
  std::unique_ptr<int> owned = *std::move(p);
  CHECK(*owned == 42);

  static_assert(!std::is_default_constructible_v<mesh::result<no_default>>);
  mesh::result<no_default> n = no_default{3};
  CHECK(n->value == 3);
  mesh::result<no_default> e = mesh::fail(mesh::errc::not_found, "x");
  CHECK_FALSE(e.has_value());
}

TEST_CASE("result<void> is success by default and holds an error otherwise") {
  mesh::result<void> ok;
  CHECK(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK_NOTHROW(ok.value());
  mesh::result<void> bad = mesh::fail(mesh::errc::shutting_down, "node n1 is stopping");
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error().code == mesh::errc::shutting_down);
  CHECK_THROWS_AS(bad.value(), mesh::exception);
}
