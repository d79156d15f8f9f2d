#pragma once
// Message types shared by the wire tests: every kind of value the codec supports.

#include <mesh/wire/reflect.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace test_msgs {

enum class color : std::uint8_t { red, green, blue = 200 };
enum class big : std::int64_t { low = -(std::int64_t{1} << 40), high = std::int64_t{1} << 50 };
enum plain_enum : int { plain_a = 1, plain_b = -7 };  // unscoped, fixed underlying type
// Unscoped without a fixed underlying type: its values are only those of the smallest bit-field
// holding its enumerators, so only valid values may be generated or decoded (not fuzzed).
enum legacy_enum { legacy_x, legacy_y = 5 };

struct Get {  // a tag message: travels as []
  friend bool operator==(Get const&, Get const&) = default;
};

struct Point {
  BOOST_HANA_DEFINE_STRUCT(Point, (std::int32_t, x), (std::int32_t, y));
  friend bool operator==(Point const&, Point const&) = default;
};

// Reflected from outside with BOOST_HANA_ADAPT_STRUCT (below).
struct Adapted {
  std::string name;
  std::vector<Point> points;
  std::optional<color> tint;
  friend bool operator==(Adapted const&, Adapted const&) = default;
};

struct Ints {
  BOOST_HANA_DEFINE_STRUCT(Ints, (std::int8_t, i8), (std::int16_t, i16), (std::int32_t, i32), (std::int64_t, i64),
                           (std::uint8_t, u8), (std::uint16_t, u16), (std::uint32_t, u32), (std::uint64_t, u64),
                           (char, ch), (bool, flag));
  friend bool operator==(Ints const&, Ints const&) = default;
};

struct Floats {
  BOOST_HANA_DEFINE_STRUCT(Floats, (float, f), (double, d));
  friend bool operator==(Floats const&, Floats const&) = default;
};

struct Containers {
  BOOST_HANA_DEFINE_STRUCT(Containers, (std::vector<std::int64_t>, numbers), (std::vector<std::string>, words),
                           (std::map<std::string, std::int32_t>, counts), (std::map<std::int64_t, Point>, by_id),
                           (std::optional<std::string>, maybe), (std::optional<Point>, maybe_point),
                           (std::array<std::uint16_t, 3>, triple), (std::tuple<std::int32_t, std::string, bool>, tup),
                           (std::vector<std::vector<std::uint8_t>>, rows));
  friend bool operator==(Containers const&, Containers const&) = default;
};

struct Nested {
  BOOST_HANA_DEFINE_STRUCT(Nested, (std::string, id), (Adapted, inner), (std::vector<Adapted>, many), (Ints, ints),
                           (Floats, floats), (Containers, containers), (color, c), (big, b), (plain_enum, p), (Get, tag),
                           (std::optional<Adapted>, maybe_inner));
  friend bool operator==(Nested const&, Nested const&) = default;
};

struct NotReflected {  // has data but no reflection: not serializable
  int x = 0;
};

}  // namespace test_msgs

BOOST_HANA_ADAPT_STRUCT(test_msgs::Adapted, name, points, tint);
