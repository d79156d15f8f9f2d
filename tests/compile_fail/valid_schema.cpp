// expect-success: positive control; a correct schema compiles with no error and no warning.
// Rule: none broken. Guards the harness against false failures.
#include <mesh/mesh.hpp>

#include <string>
#include <vector>

struct counters : mesh::capability<"counters"> {};
struct game : mesh::capability<"game"> {};

struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, n));
};
struct Get {};
struct Reset {};
struct Start {
  BOOST_HANA_DEFINE_STRUCT(Start, (long, initial));
};
struct Move {
  BOOST_HANA_DEFINE_STRUCT(Move, (std::string, dir), (std::vector<int>, path));
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
  long handle(Add const& a) { return value += a.n; }
  long handle(Get const&) { return value; }
  void handle(Reset const&) { value = 0; }
  long value;
};

struct Player {
  static constexpr mesh::fixed_string name = "player";
  using capability = game;
  using messages = mesh::list<Move>;
  explicit Player(std::string_view) {}
  Position handle(Move const&) { return {1, 2}; }
};

using app = mesh::schema<Counter, Player>;
static_assert(app::valid);
static_assert(mesh::wire::check_serializable<app>());
static_assert(mesh::check_actor<Counter>());
static_assert(mesh::check_accepts<Counter, Add>());
static_assert(app::contains<Player>);
static_assert(mesh::message_index_v<Counter, Reset> == 2);
static_assert(std::is_same_v<mesh::reply_t<Player, Move>, Position>);
constexpr auto fingerprint = mesh::wire::fingerprint_v<app>;

int main() { return fingerprint == 0 ? 1 : 0; }
