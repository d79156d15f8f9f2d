// Compile-time vocabulary: fixed_string, capability, list.
#include <mesh/core/capability.hpp>
#include <mesh/core/fixed_string.hpp>
#include <mesh/core/list.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <type_traits>

namespace {

template <mesh::fixed_string S>
struct named {
  static constexpr std::string_view value = S.view();
};

struct game : mesh::capability<"game"> {};
struct chat : mesh::capability<"chat"> {};
struct not_a_cap {
  [[maybe_unused]] static constexpr std::string_view name = "fake";  // only its presence matters
};

struct A {};
struct B {};
struct C {};

}  // namespace

TEST_CASE("fixed_string is built from a literal and views its characters without the zero") {
  constexpr mesh::fixed_string s = "counter";
  static_assert(std::is_same_v<std::remove_const_t<decltype(s)>, mesh::fixed_string<8>>);
  static_assert(s.size() == 7);
  static_assert(s.view() == "counter");
  static_assert(std::string_view(s) == "counter");
  constexpr mesh::fixed_string empty = "";
  static_assert(empty.size() == 0 && empty.view().empty());
  CHECK(std::string(s.view()) == "counter");
}

TEST_CASE("fixed_string works as a template argument and compares across lengths") {
  static_assert(named<"player">::value == "player");
  static_assert(std::is_same_v<named<"a">, named<"a">>);
  static_assert(!std::is_same_v<named<"a">, named<"b">>);
  static_assert(mesh::fixed_string("abc") == mesh::fixed_string("abc"));
  static_assert(!(mesh::fixed_string("abc") == mesh::fixed_string("abcd")));
  static_assert(!(mesh::fixed_string("abc") == mesh::fixed_string("abd")));
  constexpr mesh::fixed_string with_nul = "a\0b";
  static_assert(with_nul.size() == 3 && with_nul.view() == std::string_view("a\0b", 3));
  CHECK(named<"x y">::value == "x y");
}

TEST_CASE("capability types carry their name and are recognized by is_capability_v") {
  static_assert(game::name == "game");
  static_assert(chat::name == "chat");
  static_assert(mesh::capability<"raw">::name == "raw");
  static_assert(mesh::is_capability_v<game>);
  static_assert(mesh::is_capability_v<mesh::capability<"raw">>);
  static_assert(!mesh::is_capability_v<not_a_cap>);
  static_assert(!mesh::is_capability_v<int>);
  CHECK(std::string(game::name) == "game");
}

TEST_CASE("list answers size, index, membership and element queries at compile time") {
  using l = mesh::list<A, B, C>;
  static_assert(l::size == 3);
  static_assert(mesh::list<>::size == 0);
  static_assert(mesh::detail::is_list<l>::value);
  static_assert(!mesh::detail::is_list<int>::value);
  static_assert(mesh::detail::list_index<A, l>::value == 0);
  static_assert(mesh::detail::list_index<C, l>::value == 2);
  static_assert(mesh::detail::list_index<int, l>::value == 3);  // absent: size
  static_assert(mesh::detail::list_contains_v<B, l>);
  static_assert(!mesh::detail::list_contains_v<int, l>);
  static_assert(!mesh::detail::list_contains_v<A, mesh::list<>>);
  static_assert(std::is_same_v<mesh::detail::list_at_t<1, l>, B>);
  static_assert(mesh::detail::list_index<A, mesh::list<B, A, A>>::value == 1);  // first match
  CHECK(l::size == 3);
}
