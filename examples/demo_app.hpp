#pragma once
// The demo's schema: players need the `game` capability, chat rooms need `chat`.
#include <mesh/mesh.hpp>

#include <string>
#include <vector>

struct game : mesh::capability<"game"> {};
struct chat : mesh::capability<"chat"> {};

struct Move {
  BOOST_HANA_DEFINE_STRUCT(Move, (int, dx), (int, dy));
};
struct Position {
  BOOST_HANA_DEFINE_STRUCT(Position, (int, x), (int, y), (int, moves));
};
struct Where {};
struct Spawn {
  BOOST_HANA_DEFINE_STRUCT(Spawn, (int, x), (int, y));
};

/// A player: a virtual actor created on its first message, at the spawn point it carries.
struct Player {
  static constexpr mesh::fixed_string name = "player";
  using capability = game;
  using messages = mesh::list<Move, Where>;
  using init_arg = Spawn;

  Player(std::string_view, Spawn const& s) : pos{s.x, s.y, 0} {}
  Position handle(Move const& m) {
    pos.x += m.dx;
    pos.y += m.dy;
    ++pos.moves;
    return pos;
  }
  Position handle(Where const&) { return pos; }

  Position pos;
};

struct Say {
  BOOST_HANA_DEFINE_STRUCT(Say, (std::string, who), (std::string, text));
};
struct History {};

/// A chat room keeping its messages.
struct Room {
  static constexpr mesh::fixed_string name = "room";
  using capability = chat;
  using messages = mesh::list<Say, History>;

  explicit Room(std::string_view) {}
  void handle(Say const& s) { lines.push_back(s.who + ": " + s.text); }
  std::vector<std::string> handle(History const&) { return lines; }

  std::vector<std::string> lines;
};

using demo_app = mesh::schema<Player, Room>;
