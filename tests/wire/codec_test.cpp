// mesh::wire codec: round trips of every supported type, the documented encoding, and the
// rejections that make decoding untrusted bytes safe (each one errc::bad_message).
#include "messages.hpp"

#include <mesh/wire/codec.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

using namespace test_msgs;
using mesh::errc;
namespace wire = mesh::wire;

namespace {

template <class T>
void check_round_trip(T const& v) {
  std::string const bytes = wire::encode(v);
  auto back = wire::decode<T>(bytes);
  REQUIRE_MESSAGE(back.has_value(), back.error().message);
  CHECK(*back == v);
  T into{};
  CHECK(wire::decode_into(bytes, into).has_value());
  CHECK(into == v);
}

template <class T>
void check_rejected(std::string_view bytes, wire::limits const& lim = {}, errc want = errc::bad_message) {
  auto r = wire::decode<T>(bytes, lim);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == want);
  CHECK_FALSE(r.error().message.empty());
}

template <class T>
bool fits(long long v) {
  using L = std::numeric_limits<T>;
  if constexpr (L::is_signed) return v >= static_cast<long long>(L::min()) && v <= static_cast<long long>(L::max());
  else return v >= 0 && static_cast<unsigned long long>(v) <= static_cast<unsigned long long>(L::max());
}

template <class T>
void check_limits_round_trip() {
  using L = std::numeric_limits<T>;
  for (T v : {L::min(), L::max(), T(0), T(1), T(L::max() - 1), T(L::min() + 1)}) check_round_trip(v);
  for (long long v : {-1LL, -31LL, -32LL, -33LL, 127LL, 128LL, 255LL, 256LL, 32767LL, 32768LL, 65535LL, 65536LL,
                      2147483647LL, 2147483648LL, -128LL, -129LL, -32768LL, -32769LL})
    if (fits<T>(v)) check_round_trip(static_cast<T>(v));
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

Nested sample_nested() {
  Nested n;
  n.id = "nested/1";
  n.inner = Adapted{"inner", {{1, 2}, {-3, 4}}, color::green};
  n.many = {Adapted{"a", {}, std::nullopt}, Adapted{"b", {{7, 8}}, color::blue}};
  n.ints = Ints{-8, -1600, -320000, -(std::int64_t{1} << 40), 250, 65000, 4000000000u, ~std::uint64_t{0}, 'z', true};
  n.floats = Floats{1.5f, -2.25e300};
  n.containers.numbers = {1, -2, 3};
  n.containers.words = {"x", "", "zz"};
  n.containers.counts = {{"a", 1}, {"b", -2}};
  n.containers.by_id = {{-5, {1, 1}}, {9, {2, 2}}};
  n.containers.maybe = "here";
  n.containers.maybe_point = Point{3, 4};
  n.containers.triple = {1, 2, 65535};
  n.containers.tup = {5, "five", false};
  n.containers.rows = {{}, {1, 2, 255}};
  n.c = color::blue;
  n.b = big::low;
  n.p = plain_b;
  n.maybe_inner = Adapted{"maybe", {{0, 0}}, std::nullopt};
  return n;
}

}  // namespace

TEST_CASE("codec round-trips integers of every width at their limits") {
  check_limits_round_trip<std::int8_t>();
  check_limits_round_trip<std::int16_t>();
  check_limits_round_trip<std::int32_t>();
  check_limits_round_trip<std::int64_t>();
  check_limits_round_trip<std::uint8_t>();
  check_limits_round_trip<std::uint16_t>();
  check_limits_round_trip<std::uint32_t>();
  check_limits_round_trip<std::uint64_t>();
  check_limits_round_trip<char>();
  check_limits_round_trip<long long>();
  check_limits_round_trip<unsigned long>();
  check_round_trip(true);
  check_round_trip(false);
  CHECK(wire::encode(true) == bytes({0xc3}));
  CHECK(wire::encode(std::int64_t{5}) == bytes({0x05}));  // the smallest encoding, whatever the C++ width
  CHECK(wire::encode(std::int8_t{-1}) == bytes({0xff}));
}

TEST_CASE("codec round-trips floats and doubles by value") {
  for (float f : {0.0f, 1.0f, -1.5f, 3.14159f, 16777216.0f, std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::lowest(), std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()})
    check_round_trip(f);
  for (double d : {0.0, 1e-300, -2.5e300, 0.1, -42.0, 9007199254740993.0, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::infinity()})
    check_round_trip(d);
  auto nan = wire::decode<double>(wire::encode(std::numeric_limits<double>::quiet_NaN()));
  REQUIRE(nan.has_value());
  CHECK(std::isnan(*nan));
  CHECK(wire::encode(1.5f).size() == 5);  // float 32
  CHECK(wire::encode(1.5).size() == 9);   // float 64
  // msgpack-c packs a float holding an integral value as a msgpack integer (docs/wire.md); it
  // decodes back to the same value, but a negative zero arrives as +0.0.
  CHECK(wire::encode(1.0) == wire::encode(1));
  CHECK(wire::encode(-42.0f) == wire::encode(-42));
  auto zero = wire::decode<double>(wire::encode(-0.0));
  REQUIRE(zero.has_value());
  CHECK(*zero == 0.0);
  auto from_int = wire::decode<float>(wire::encode(7));
  REQUIRE(from_int.has_value());
  CHECK(*from_int == 7.0f);
}

TEST_CASE("codec round-trips strings of every msgpack length class, including binary bytes") {
  for (std::size_t n : {0u, 1u, 31u, 32u, 255u, 256u, 65535u, 65536u, 100000u}) {
    CAPTURE(n);
    std::string s(n, 'a');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 37) & 0xff);
    check_round_trip(s);
  }
  check_round_trip(std::string("\0nul\0inside", 11));
  check_round_trip(std::string("\xc3\xa9t\xc3\xa9 \xe4\xb8\xad"));
}

TEST_CASE("codec round-trips vectors, maps, optionals, arrays and tuples") {
  for (std::size_t n : {0u, 15u, 16u, 65535u, 65536u}) {
    CAPTURE(n);
    std::vector<std::int32_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int32_t>(i * 2654435761u);
    check_round_trip(v);
  }
  for (std::size_t n : {0u, 15u, 16u, 70000u}) {
    std::map<std::int64_t, std::string> m;
    for (std::size_t i = 0; i < n; ++i) m[static_cast<std::int64_t>(i) - 5] = std::to_string(i);
    check_round_trip(m);
  }
  check_round_trip(std::unordered_map<std::string, Point>{{"a", {1, 2}}, {"b", {3, 4}}, {"c", {5, 6}}});
  check_round_trip(std::optional<int>{});
  check_round_trip(std::optional<int>{7});
  check_round_trip(std::optional<std::vector<std::string>>{{"a", "b"}});
  check_round_trip(std::array<std::int16_t, 4>{-1, 0, 1, 32767});
  check_round_trip(std::tuple<std::string, std::uint64_t, std::optional<Point>>{"t", 42, Point{9, 9}});
  check_round_trip(std::pair<std::int32_t, std::string>{1, "one"});
  check_round_trip(std::vector<std::vector<std::optional<std::string>>>{{}, {std::nullopt, "x"}});
  CHECK(wire::encode(std::optional<int>{}) == bytes({0xc0}));  // nil
}

TEST_CASE("codec encodes enums as their underlying integers") {
  CHECK(wire::encode(color::blue) == wire::encode(std::uint8_t{200}));
  CHECK(wire::encode(big::low) == wire::encode(-(std::int64_t{1} << 40)));
  CHECK(wire::encode(plain_b) == wire::encode(-7));
  check_round_trip(color::red);
  check_round_trip(color::blue);
  check_round_trip(big::low);
  check_round_trip(big::high);
  check_round_trip(plain_a);
  check_round_trip(plain_b);
  check_round_trip(legacy_y);
  CHECK(wire::encode(legacy_y) == wire::encode(5));
  check_round_trip(std::vector<color>{color::green, color::red});
  auto as_enum = wire::decode<color>(wire::encode(std::uint8_t{1}));
  REQUIRE(as_enum.has_value());
  CHECK(*as_enum == color::green);
}

TEST_CASE("codec encodes tag structs as an empty array") {
  static_assert(wire::is_tag_v<Get>);
  static_assert(wire::is_serializable_v<Get>);
  CHECK(wire::encode(Get{}) == bytes({0x90}));
  check_round_trip(Get{});
  check_rejected<Get>(bytes({0x91, 0x01}));  // [1] is not a tag
  check_rejected<Get>(bytes({0xc0}));        // nil is not a tag
}

TEST_CASE("codec encodes reflected structs as arrays of their fields in declaration order") {
  static_assert(wire::is_reflected_v<Point>);
  static_assert(wire::is_reflected_v<Adapted>);
  static_assert(wire::field_count_v<Point> == 2);
  static_assert(wire::field_count_v<Nested> == 11);
  CHECK(wire::encode(Point{1, -2}) == bytes({0x92, 0x01, 0xfe}));
  // BOOST_HANA_ADAPT_STRUCT: [name, points, tint]
  CHECK(wire::encode(Adapted{"a", {{3, 4}}, color::blue}) == bytes({0x93, 0xa1, 'a', 0x91, 0x92, 0x03, 0x04, 0xcc, 200}));
  CHECK(wire::encode(Adapted{}) == bytes({0x93, 0xa0, 0x90, 0xc0}));
  check_round_trip(Point{std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()});
  check_round_trip(Adapted{"adapted", {{1, 2}, {3, 4}}, std::nullopt});
}

TEST_CASE("codec round-trips nested reflected structs with every field kind") {
  check_round_trip(Ints{});
  check_round_trip(Floats{});
  check_round_trip(Containers{});
  check_round_trip(Nested{});
  check_round_trip(sample_nested());
  check_round_trip(std::vector<Nested>{sample_nested(), Nested{}, sample_nested()});
  check_round_trip(std::map<std::string, Nested>{{"k", sample_nested()}});
}

TEST_CASE("is_serializable accepts the documented types and refuses the rest") {
  static_assert(wire::is_serializable_v<int>);
  static_assert(wire::is_serializable_v<bool>);
  static_assert(wire::is_serializable_v<double>);
  static_assert(wire::is_serializable_v<std::string>);
  static_assert(wire::is_serializable_v<color>);
  static_assert(wire::is_serializable_v<Nested>);
  static_assert(wire::is_serializable_v<Nested const>);
  static_assert(wire::is_serializable_v<std::map<std::string, std::vector<Point>>>);
  static_assert(wire::is_serializable_v<std::optional<Adapted>>);
  static_assert(!wire::is_serializable_v<NotReflected>);
  static_assert(!wire::is_serializable_v<std::vector<NotReflected>>);
  static_assert(!wire::is_serializable_v<std::map<std::string, NotReflected>>);
  static_assert(!wire::is_serializable_v<int*>);
  static_assert(!wire::is_serializable_v<std::string_view>);
  static_assert(!wire::is_tag_v<NotReflected>);
  static_assert(wire::is_serializable_v<plain_enum>);    // unscoped with a fixed underlying type
  static_assert(!wire::is_serializable_v<legacy_enum>);  // no fixed type: out-of-range input would be UB
  CHECK(wire::is_serializable_v<Containers>);
}

TEST_CASE("decode rejects every truncation of a valid body with bad_message") {
  std::string const full = wire::encode(sample_nested());
  REQUIRE(full.size() > 100);
  for (std::size_t n = 0; n < full.size(); ++n) {
    CAPTURE(n);
    check_rejected<Nested>(std::string_view(full).substr(0, n));
  }
  check_rejected<std::string>(std::string_view(wire::encode(std::string(300, 'x'))).substr(0, 200));
}

TEST_CASE("decode rejects trailing bytes after the body with bad_message") {
  for (int extra : {0x00, 0x01, 0xc0, 0x90, 0xff}) {
    CAPTURE(extra);
    check_rejected<Point>(wire::encode(Point{1, 2}) + static_cast<char>(extra));
    check_rejected<int>(wire::encode(5) + static_cast<char>(extra));
  }
  check_rejected<Nested>(wire::encode(sample_nested()) + wire::encode(sample_nested()));
  check_rejected<std::string>(std::string("\xa1xy", 3));  // a one-character string followed by 'y'
}

TEST_CASE("decode rejects bodies of the wrong type with bad_message") {
  check_rejected<int>(wire::encode(std::string("5")));
  check_rejected<std::string>(wire::encode(5));
  check_rejected<int>(bytes({0xc0}));                           // nil
  check_rejected<bool>(wire::encode(1));                         // 1 is not a bool
  check_rejected<std::uint32_t>(wire::encode(-1));               // negative into unsigned
  check_rejected<std::uint8_t>(wire::encode(300));               // out of range
  check_rejected<std::int8_t>(wire::encode(-129));
  check_rejected<std::int32_t>(wire::encode(std::int64_t{1} << 40));
  check_rejected<Point>(wire::encode(std::vector<int>{1, 2, 3}));  // wrong arity
  check_rejected<Point>(wire::encode(std::vector<int>{1}));
  check_rejected<Point>(wire::encode(std::map<int, int>{{1, 2}}));  // map, not array
  check_rejected<Adapted>(wire::encode(Point{1, 2}));
  check_rejected<Point>(wire::encode(std::vector<std::string>{"a", "b"}));
  check_rejected<std::vector<int>>(wire::encode(std::map<int, int>{{1, 2}}));
  check_rejected<std::map<std::string, int>>(wire::encode(std::map<int, int>{{1, 2}}));
  check_rejected<std::optional<int>>(wire::encode(std::string("x")));
  check_rejected<color>(wire::encode(std::string("blue")));
  check_rejected<Nested>(wire::encode(Adapted{}));
  check_rejected<int>(bytes({0xd4, 0x01, 0x02}));  // fixext 1
}

TEST_CASE("decode rejects bodies above the payload limit with too_large") {
  wire::limits small;
  small.max_payload_bytes = 16;
  std::string const fits = wire::encode(std::string(15, 'x'));  // 16 bytes
  REQUIRE(fits.size() == 16);
  CHECK(wire::decode<std::string>(fits, small).has_value());
  check_rejected<std::string>(wire::encode(std::string(16, 'x')), small, errc::too_large);
  check_rejected<std::vector<int>>(wire::encode(std::vector<int>(100, 1)), small, errc::too_large);
  // The default limit is 16 MiB.
  CHECK(wire::limits{}.max_payload_bytes == 16u << 20);
  check_rejected<std::string>(wire::encode(std::string((16u << 20) + 1, 'x')), {}, errc::too_large);
}

TEST_CASE("decode rejects nesting deeper than the depth limit with bad_message") {
  using v3 = std::vector<std::vector<std::vector<int>>>;
  v3 const deep{{{1}}};
  wire::limits lim;
  lim.max_depth = 3;
  CHECK(wire::decode<v3>(wire::encode(deep), lim).has_value());
  lim.max_depth = 2;
  check_rejected<v3>(wire::encode(deep), lim);
  CHECK(wire::limits{}.max_depth == 64);
  for (std::size_t n : {65u, 100u, 256u, 257u, 300u, 100000u}) {  // non-empty arrays nested n deep
    CAPTURE(n);
    std::string s(n, '\x91');
    s.push_back('\x01');
    check_rejected<std::vector<int>>(s);
    CHECK(wire::validate(s).error().code == errc::bad_message);
    wire::limits huge;
    huge.max_depth = 1000000;  // the validator's own bound (256 levels) still applies
    CHECK(wire::validate(s, huge).has_value() == (n <= 256));
  }
  std::string ok64(64, '\x91');
  ok64.push_back('\x01');
  CHECK(wire::validate(ok64).has_value());
  std::string maps;  // {1: {1: ... 1}} nested 70 deep through map values
  for (int i = 0; i < 70; ++i) maps += "\x81\x01";
  maps.push_back('\x01');
  CHECK_FALSE(wire::validate(maps).has_value());
}

TEST_CASE("decode rejects the reserved byte 0xc1 with bad_message") {
  check_rejected<int>(bytes({0xc1}));
  check_rejected<std::vector<int>>(bytes({0x92, 0x01, 0xc1}));
  check_rejected<std::map<int, int>>(bytes({0x81, 0xc1, 0x01}));
  auto r = wire::validate(bytes({0xc1}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("0xc1") != std::string::npos);
}

TEST_CASE("decode rejects empty input and length prefixes longer than the input with bad_message") {
  check_rejected<int>("");
  check_rejected<std::string>(bytes({0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}));        // str 32
  check_rejected<std::string>(bytes({0xda, 0xff, 0xff}));                         // str 16, no data
  check_rejected<std::string>(bytes({0xc6, 0xff, 0xff, 0xff, 0xff}));             // bin 32
  check_rejected<std::vector<int>>(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}));  // array 32
  check_rejected<std::vector<int>>(bytes({0xdc, 0xff, 0xff, 0x01, 0x02}));        // array 16
  check_rejected<std::map<int, int>>(bytes({0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x01}));  // map 32
  check_rejected<std::map<int, int>>(bytes({0xde, 0x00, 0x02, 0x01, 0x01, 0x02}));        // map 16, odd
  check_rejected<int>(bytes({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}));                       // ext 32
  check_rejected<int>(bytes({0xd8, 0x01}));                                               // fixext 16
  check_rejected<double>(bytes({0xcb, 0x00, 0x00}));                                      // float 64
  check_rejected<std::uint64_t>(bytes({0xcf, 0x00}));                                     // uint 64
}
