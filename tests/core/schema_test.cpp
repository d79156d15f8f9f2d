// Actor traits and mesh::schema: compile-time queries and the schema fingerprint.
#include "fingerprint_schema.ipp"

#include <mesh/core/actor_traits.hpp>
#include <mesh/core/schema.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

std::uint64_t fingerprint_with_renamed_field();  // fingerprint_renamed_field.cpp
std::uint64_t fingerprint_with_retyped_field();  // fingerprint_retyped_field.cpp

namespace app {

struct counters : mesh::capability<"counters"> {};
struct games : mesh::capability<"game"> {};

struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, amount));
};
struct Get {};
struct Reset {};
struct Start {
  BOOST_HANA_DEFINE_STRUCT(Start, (long, initial));
};
struct Move {
  BOOST_HANA_DEFINE_STRUCT(Move, (int, dx), (int, dy));
};
struct Position {
  BOOST_HANA_DEFINE_STRUCT(Position, (int, x), (int, y));
};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get, Reset>;
  using init_arg = Start;
  Counter(std::string_view, Start const& s) : value(s.initial) {}
  long handle(Add const& a) { return value += a.amount; }
  long handle(Get const&) { return value; }
  void handle(Reset const&) { value = 0; }
  long value;
};

struct Player {
  static constexpr mesh::fixed_string name = "player";
  using capability = games;
  using messages = mesh::list<Move, Get>;
  explicit Player(std::string_view) {}
  Position handle(Move const& m, mesh::context&) { return {m.dx, m.dy}; }
  Position handle(Get const&) { return {}; }
};

struct Room {
  static constexpr mesh::fixed_string name = "room";
  using capability = games;
  using messages = mesh::list<Get>;
  explicit Room(std::string_view) {}
  std::vector<std::string> handle(Get const&) { return {}; }
};

using app_schema = mesh::schema<Counter, Player, Room>;

}  // namespace app

// Variants of app::Counter, each changing one thing (or, for the first, only the C++ spelling).
namespace variants {
using namespace app;

struct SameCounterOtherClass {  // same wire identity as app::Counter, different C++ class name
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get, Reset>;
  using init_arg = Start;
  SameCounterOtherClass(std::string_view, Start const&) {}
  long handle(Add const&) { return 0; }
  long handle(Get const&) { return 0; }
  void handle(Reset const&) {}
};
struct RenamedCounter : SameCounterOtherClass {
  static constexpr mesh::fixed_string name = "counter2";
  using SameCounterOtherClass::SameCounterOtherClass;
};
struct ReorderedCounter : SameCounterOtherClass {
  using messages = mesh::list<Get, Add, Reset>;
  using SameCounterOtherClass::SameCounterOtherClass;
};
struct FewerMessagesCounter : SameCounterOtherClass {
  using messages = mesh::list<Add, Get>;
  using SameCounterOtherClass::SameCounterOtherClass;
};
struct OtherCapabilityCounter : SameCounterOtherClass {
  using capability = games;
  using SameCounterOtherClass::SameCounterOtherClass;
};
struct OtherReplyCounter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get, Reset>;
  using init_arg = Start;
  OtherReplyCounter(std::string_view, Start const&) {}
  int handle(Add const&) { return 0; }  // int instead of long
  long handle(Get const&) { return 0; }
  void handle(Reset const&) {}
};
struct NoInitCounter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get, Reset>;
  explicit NoInitCounter(std::string_view) {}
  long handle(Add const&) { return 0; }
  long handle(Get const&) { return 0; }
  void handle(Reset const&) {}
};

}  // namespace variants

template <std::uint64_t F>
struct fingerprint_as_template_argument {
  static constexpr std::uint64_t value = F;
};

TEST_CASE("actor traits give reply types, message indices, init arguments and names") {
  using namespace app;
  static_assert(std::is_same_v<mesh::reply_t<Counter, Add>, long>);
  static_assert(std::is_same_v<mesh::reply_t<Counter, Reset>, void>);
  static_assert(std::is_same_v<mesh::reply_t<Player, Move>, Position>);  // handler taking mesh::context&
  static_assert(std::is_same_v<mesh::reply_t<Room, Get>, std::vector<std::string>>);
  static_assert(mesh::message_index_v<Counter, Add> == 0);
  static_assert(mesh::message_index_v<Counter, Get> == 1);
  static_assert(mesh::message_index_v<Counter, Reset> == 2);
  static_assert(mesh::message_index_v<Player, Get> == 1);
  static_assert(std::is_same_v<mesh::init_arg_t<Counter>, Start>);
  static_assert(std::is_same_v<mesh::init_arg_t<Player>, mesh::no_init>);
  static_assert(mesh::actor_name_v<Room> == "room");
  static_assert(mesh::is_valid_actor_v<Counter> && mesh::is_valid_actor_v<Player> && mesh::is_valid_actor_v<Room>);
  static_assert(mesh::check_accepts<Counter, Add>());
  static_assert(mesh::check_accepts<Player, Move>());
  CHECK(mesh::actor_name_v<Counter> == "counter");
}

TEST_CASE("schema indexes its actors and lists names and capabilities in schema order") {
  using s = app::app_schema;
  static_assert(s::valid);
  static_assert(s::size == 3);
  static_assert(std::is_same_v<s::actors, mesh::list<app::Counter, app::Player, app::Room>>);
  static_assert(s::index_of<app::Counter> == 0);
  static_assert(s::index_of<app::Player> == 1);
  static_assert(s::index_of<app::Room> == 2);
  static_assert(s::index_of<variants::NoInitCounter> == 3);  // absent: size
  static_assert(s::contains<app::Room>);
  static_assert(!s::contains<variants::NoInitCounter>);
  constexpr auto names = s::names();
  static_assert(names == std::array<std::string_view, 3>{"counter", "player", "room"});
  constexpr auto caps = s::capabilities();
  static_assert(caps == std::array<std::string_view, 3>{"counters", "game", "game"});
  static_assert(mesh::detail::is_schema<s>::value);
  static_assert(!mesh::detail::is_schema<app::Counter>::value);
  CHECK(names[1] == "player");
}

TEST_CASE("schema actors_for lists the actors needing a capability at compile time") {
  using s = app::app_schema;
  constexpr auto games = s::actors_for("game");
  static_assert(games.second == 2);
  static_assert(games.first[0] == "player" && games.first[1] == "room");
  constexpr auto counters = s::actors_for("counters");
  static_assert(counters.second == 1 && counters.first[0] == "counter");
  constexpr auto none = s::actors_for("chat");
  static_assert(none.second == 0);
  auto const run_time = s::actors_for(std::string("game"));
  CHECK(run_time.second == 2);
  CHECK(run_time.first[0] == "player");
}

TEST_CASE("schema fingerprint is a compile-time constant that ignores C++ class spellings") {
  using s = app::app_schema;
  static_assert(fingerprint_as_template_argument<mesh::wire::fingerprint_v<s>>::value == mesh::wire::fingerprint_v<s>);
  static_assert(mesh::wire::fingerprint_v<s> != 0);
  static_assert(mesh::wire::fingerprint_v<mesh::schema<app::Counter>> == mesh::wire::fingerprint_v<mesh::schema<variants::SameCounterOtherClass>>);
  static_assert(mesh::wire::fingerprint_v<mesh::schema<>> != mesh::wire::fingerprint_v<mesh::schema<app::Counter>>);
  CHECK(mesh::wire::fingerprint_v<s> == mesh::wire::fingerprint_v<app::app_schema>);
}

TEST_CASE("schema fingerprint changes with an actor's name, messages, order, capability, reply or init argument") {
  using namespace variants;
  constexpr std::uint64_t base = mesh::wire::fingerprint_v<mesh::schema<SameCounterOtherClass>>;
  constexpr std::array<std::uint64_t, 7> others{
      mesh::wire::fingerprint_v<mesh::schema<RenamedCounter>>,
      mesh::wire::fingerprint_v<mesh::schema<ReorderedCounter>>,
      mesh::wire::fingerprint_v<mesh::schema<FewerMessagesCounter>>,
      mesh::wire::fingerprint_v<mesh::schema<OtherCapabilityCounter>>,
      mesh::wire::fingerprint_v<mesh::schema<OtherReplyCounter>>,
      mesh::wire::fingerprint_v<mesh::schema<NoInitCounter>>,
      mesh::wire::fingerprint_v<mesh::schema<SameCounterOtherClass, app::Room>>,
  };
  for (std::size_t i = 0; i < others.size(); ++i) {
    CAPTURE(i);
    CHECK(others[i] != base);
    for (std::size_t j = 0; j < i; ++j) CHECK(others[i] != others[j]);
  }
  static_assert(mesh::wire::fingerprint_v<mesh::schema<RenamedCounter>> != base);
  static_assert(mesh::wire::fingerprint_v<mesh::schema<ReorderedCounter>> != base);
}

TEST_CASE("schema fingerprint changes when one field of a message is renamed or retyped") {
  // The three schemas are spelled identically ("{anonymous}::fp::Add", ...) in three translation
  // units; only the field under test differs.
  std::uint64_t const base = mesh::wire::fingerprint_v<fp::schema>;
  std::uint64_t const renamed = fingerprint_with_renamed_field();
  std::uint64_t const retyped = fingerprint_with_retyped_field();
  CHECK(renamed != base);
  CHECK(retyped != base);
  CHECK(renamed != retyped);
}

TEST_CASE("wire signature distinguishes field names, widths, signedness and containers") {
  auto sig = [](auto tag) {
    mesh::wire::hasher h;
    mesh::wire::signature<typename decltype(tag)::type>(h);
    return h.h;
  };
  using std::type_identity;
  std::array<std::uint64_t, 12> const s{
      sig(type_identity<std::int32_t>{}),          sig(type_identity<std::int64_t>{}),
      sig(type_identity<std::uint32_t>{}),         sig(type_identity<float>{}),
      sig(type_identity<double>{}),                sig(type_identity<bool>{}),
      sig(type_identity<std::string>{}),           sig(type_identity<std::vector<int>>{}),
      sig(type_identity<std::optional<int>>{}),    sig(type_identity<std::map<int, int>>{}),
      sig(type_identity<std::vector<long>>{}),     sig(type_identity<app::Move>{}),
  };
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(s[i] != s[j]);
    }
  CHECK(sig(type_identity<app::Move>{}) == sig(type_identity<app::Move const>{}));
}
