// Laws of the wire layer, checked on seeded pseudo-random input (std::mt19937_64, fixed seeds, so
// every run sees the same cases):
//   1. decode(encode(v)) == v for every generated value of every message type;
//   2. every proper prefix of an encoding, and every encoding with bytes appended, is rejected;
//   3. any other input (mutated encodings, random bytes, huge length prefixes, cross-type bodies)
//      is either rejected with errc::bad_message or decodes to a value whose encoding is a fixed
//      point (decoding it again gives the same bytes): no crash, no exception, no other error;
// and the same for whole frames through encode_frame/decode_frame.
#include "messages.hpp"

#include <mesh/wire/codec.hpp>
#include <mesh/wire/frame.hpp>

#include <doctest/doctest.h>

#include <boost/hana/accessors.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using namespace test_msgs;
using mesh::errc;
namespace wire = mesh::wire;

namespace {

// ---------------------------------------------------------------------------------------------
// A generator of random values for every serializable type, driven by the reflection.
class generator {
 public:
  explicit generator(std::uint64_t seed) : rng_(seed) {}

  std::uint64_t bits() { return rng_(); }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }
  bool percent(unsigned p) { return below(100) < p; }

  template <class T>
  T value(int depth = 0) {
    using wire::detail::is_array;
    using wire::detail::is_map;
    using wire::detail::is_optional;
    using wire::detail::is_tuple;
    using wire::detail::is_vector;
    if constexpr (std::is_same_v<T, bool>) {
      return (bits() & 1) != 0;
    } else if constexpr (std::is_enum_v<T>) {
      return static_cast<T>(value<std::underlying_type_t<T>>(depth));
    } else if constexpr (std::is_integral_v<T>) {
      return integer<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      return floating<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      return string();
    } else if constexpr (is_vector<T>::value) {
      T v;
      std::size_t const n = length(depth);
      v.reserve(n);
      for (std::size_t i = 0; i < n; ++i) v.push_back(value<typename T::value_type>(depth + 1));
      return v;
    } else if constexpr (is_map<T>::value) {
      T m;
      std::size_t const n = length(depth);
      for (std::size_t i = 0; i < n; ++i)
        m.emplace(value<typename T::key_type>(depth + 1), value<typename T::mapped_type>(depth + 1));
      return m;
    } else if constexpr (is_optional<T>::value) {
      if (percent(40)) return std::nullopt;
      return value<typename T::value_type>(depth + 1);
    } else if constexpr (is_array<T>::value) {
      T a{};
      for (auto& e : a) e = value<typename T::value_type>(depth + 1);
      return a;
    } else if constexpr (is_tuple<T>::value) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return T{value<std::tuple_element_t<I, T>>(depth + 1)...};
      }(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else if constexpr (wire::is_reflected_v<T>) {
      T v{};
      boost::hana::for_each(boost::hana::accessors<T>(), [&](auto p) {
        auto& member = boost::hana::second(p)(v);
        member = value<std::remove_cvref_t<decltype(member)>>(depth + 1);
      });
      return v;
    } else {
      static_assert(wire::is_tag_v<T>, "the generator covers every serializable type");
      return T{};
    }
  }

  /// Random bytes, at most a few hundred (header fields: the header part is limited to 64 KiB).
  std::string short_string() { return noise(percent(90) ? below(16) : below(600)); }

  /// Random bytes of the given length.
  std::string noise(std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(bits() & 0xff);
    return s;
  }

  /// One random mutation of `s`: bit flip, byte overwrite, insertion, deletion, a random run,
  /// duplication of a slice, or a huge length prefix spliced in.
  std::string mutate(std::string s) {
    switch (below(8)) {
      case 0:
        if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1u << below(8));
        break;
      case 1:
        if (!s.empty()) s[below(s.size())] = static_cast<char>(bits() & 0xff);
        break;
      case 2: s.insert(below(s.size() + 1), noise(1 + below(4))); break;
      case 3:
        if (!s.empty()) s.erase(below(s.size()), 1 + below(4));
        break;
      case 4:
        if (!s.empty()) {
          auto const at = below(s.size());
          auto const run = noise(std::min<std::size_t>(s.size() - at, 1 + below(8)));
          s.replace(at, run.size(), run);
        }
        break;
      case 5:
        if (!s.empty()) {
          auto const at = below(s.size());
          s.insert(below(s.size() + 1), s.substr(at, 1 + below(16)));
        }
        break;
      default: {
        // A length prefix claiming far more data than there is: str/bin/ext/array/map 16 and 32.
        static constexpr unsigned char markers16[] = {0xda, 0xc5, 0xc8, 0xdc, 0xde};
        static constexpr unsigned char markers32[] = {0xdb, 0xc6, 0xc9, 0xdd, 0xdf};
        std::string prefix;
        if (percent(50)) {
          prefix = {static_cast<char>(markers16[below(std::size(markers16))]), '\xff', static_cast<char>(0xf0 | below(16))};
        } else {
          prefix = {static_cast<char>(markers32[below(std::size(markers32))]), '\xff', '\xff', '\xff',
                    static_cast<char>(0xf0 | below(16))};
        }
        auto const at = below(s.size() + 1);
        if (percent(50)) s.insert(at, prefix);
        else s.replace(at, std::min<std::size_t>(prefix.size(), s.size() - at), prefix);
        break;
      }
    }
    return s;
  }

 private:
  template <class T>
  T integer() {
    using L = std::numeric_limits<T>;
    switch (below(6)) {
      case 0: return L::min();
      case 1: return L::max();
      case 2: return static_cast<T>(below(300));
      case 3:
        if constexpr (L::is_signed) return static_cast<T>(-static_cast<T>(below(100)));
        else return static_cast<T>(below(70000));
      default: {
        auto const shift = below(8 * sizeof(T));
        return static_cast<T>(bits() >> (64 - 8 * sizeof(T) + shift));
      }
    }
  }

  template <class T>
  T floating() {
    if (percent(30)) {
      static constexpr T simple[] = {T(0), T(-0.0), T(1), T(-1.5), T(0.1), std::numeric_limits<T>::max(),
                                     std::numeric_limits<T>::infinity(), std::numeric_limits<T>::denorm_min()};
      return simple[below(std::size(simple))];
    }
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    U const u = static_cast<U>(bits());
    T f;
    std::memcpy(&f, &u, sizeof f);
    return std::isnan(f) ? T(0.5) : f;
  }

  std::string string() {
    std::size_t n;
    auto const roll = below(1000);
    if (roll < 800) n = below(12);
    else if (roll < 990) n = 20 + below(300);
    else if (roll < 999) n = 60000 + below(10000);  // str 16 / str 32
    else n = 65536 + below(100);
    return noise(n);
  }

  std::size_t length(int depth) {
    if (depth > 3) return below(2);
    auto const roll = below(100);
    if (roll < 85) return below(5);
    if (roll < 97) return 14 + below(4);  // around the fix/16-bit boundary
    return below(40);
  }

  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------------------------
// Law checks. They count failures and report the first few, to stay fast on thousands of cases.
struct law_stats {
  std::size_t decoded = 0;
  std::size_t rejected = 0;
};

std::string hex(std::string_view s, std::size_t max = 48) {
  std::ostringstream os;
  for (std::size_t i = 0; i < s.size() && i < max; ++i)
    os << "0123456789abcdef"[(static_cast<unsigned char>(s[i]) >> 4)] << "0123456789abcdef"[s[i] & 0xf];
  if (s.size() > max) os << "...(" << s.size() << " bytes)";
  return os.str();
}

/// Law 3 for one input: rejected with bad_message, or decoded to a fixed point of encode∘decode.
template <class T>
void check_decodes_or_rejects(std::string_view input, law_stats& st) {
  auto r = wire::decode<T>(input);
  if (!r) {
    if (r.error().code != errc::bad_message)
      FAIL_CHECK("decode<" << wire::type_name<T>() << "> failed with " << mesh::to_string(r.error().code)
                           << " on " << hex(input));
    ++st.rejected;
    return;
  }
  ++st.decoded;
  std::string const e1 = wire::encode(*r);
  auto r2 = wire::decode<T>(e1);
  if (!r2) {
    FAIL_CHECK("re-encoding of a decoded " << wire::type_name<T>() << " does not decode: " << r2.error().message
                                           << " input " << hex(input));
    return;
  }
  if (wire::encode(*r2) != e1)
    FAIL_CHECK("encode(decode(x)) is not a fixed point for " << wire::type_name<T>() << " on " << hex(input));
}

template <class T>
void check_rejected(std::string_view input, char const* what) {
  auto r = wire::decode<T>(input);
  if (r.has_value() || r.error().code != errc::bad_message)
    FAIL_CHECK(what << " of a " << wire::type_name<T>() << " was not rejected with bad_message: " << hex(input));
}

template <class T, class Other>
void laws_for(generator& g, std::size_t count, law_stats& st) {
  for (std::size_t i = 0; i < count; ++i) {
    T const v = g.value<T>();
    std::string const bytes = wire::encode(v);
    // Law 1: exact round trip.
    auto back = wire::decode<T>(bytes);
    if (!back) {
      FAIL_CHECK("decode<" << wire::type_name<T>() << "> rejected its own encoding: " << back.error().message << " "
                           << hex(bytes));
      continue;
    }
    if (!(*back == v)) FAIL_CHECK("decode(encode(v)) != v for " << wire::type_name<T>() << " " << hex(bytes));
    // Law 2: truncations and extensions are rejected.
    for (int k = 0; k < 4; ++k) check_rejected<T>(std::string_view(bytes).substr(0, g.below(bytes.size())), "truncation");
    check_rejected<T>(bytes + g.noise(1 + g.below(8)), "extension");
    // Law 3: mutations, and the same bytes read as another type.
    for (int k = 0; k < 6; ++k) {
      std::string m = g.mutate(bytes);
      if (g.percent(20)) m = g.mutate(std::move(m));
      check_decodes_or_rejects<T>(m, st);
    }
    check_decodes_or_rejects<Other>(bytes, st);
  }
}

template <class T>
void random_bytes_law(generator& g, std::size_t count, law_stats& st) {
  for (std::size_t i = 0; i < count; ++i) check_decodes_or_rejects<T>(g.noise(g.below(24)), st);
}

// ---------------------------------------------------------------------------------------------
// Frames.
wire::frame random_frame(generator& g, bool may_batch = true) {
  wire::frame f;
  f.h.k = static_cast<wire::kind>(g.below(may_batch ? 6 : 5));
  f.h.request_id = g.value<std::uint64_t>();
  switch (f.h.k) {
    case wire::kind::call:
    case wire::kind::cast:
      f.h.fingerprint = g.bits();
      f.h.actor = g.percent(50) ? "counter" : g.short_string();
      f.h.id = g.short_string();
      f.h.message_index = g.value<std::uint32_t>();
      f.h.timeout_ms = g.value<std::uint32_t>();
      f.h.has_init = g.percent(50);
      f.body.push_back(wire::encode(g.value<Nested>()));
      if (f.h.has_init) f.body.push_back(wire::encode(g.value<Adapted>()));
      break;
    case wire::kind::reply:
      f.h.node = g.short_string();
      f.body.push_back(g.percent(50) ? wire::encode(g.value<std::int64_t>()) : wire::encode(g.value<Containers>()));
      break;
    case wire::kind::error:
      f.h.code = static_cast<errc>(1 + g.below(14));
      f.h.text = g.percent(99) ? g.short_string() : g.noise(wire::max_error_text_bytes + g.below(100000));
      break;
    case wire::kind::control:
      f.h.control = g.value<std::uint16_t>();
      f.body.push_back(wire::encode(g.value<std::vector<std::string>>()));
      break;
    case wire::kind::batch: {
      wire::batch_writer::start(f);
      for (std::size_t i = 0, n = 1 + g.below(4); i < n; ++i) wire::batch_writer::append(f, random_frame(g, false));
      wire::batch_writer::finish(f);
      break;
    }
  }
  return f;
}

mesh::result<wire::frame> decode_parts(std::vector<std::string> const& parts) {
  std::vector<std::string_view> const v(parts.begin(), parts.end());
  return wire::decode_frame(v);
}

void check_frame_decodes_or_rejects(std::vector<std::string> const& parts, law_stats& st) {
  auto r = decode_parts(parts);
  if (!r) {
    if (r.error().code != errc::bad_message) FAIL_CHECK("decode_frame failed with " << mesh::to_string(r.error().code));
    ++st.rejected;
    return;
  }
  ++st.decoded;
  auto again = decode_parts(wire::encode_frame(*r));
  if (!again) FAIL_CHECK("a decoded frame does not decode after re-encoding: " << again.error().message);
  else if (!(*again == *r)) FAIL_CHECK("decode_frame(encode_frame(f)) != f for a decoded frame");
  if (r->h.k != wire::kind::batch) return;
  // What a batch holds: each frame it yields is one decode_frame accepts alone, as itself.
  wire::frame scratch;
  auto ok = wire::for_each_batched(*r, scratch, {}, [&](wire::frame& f) {
    auto alone = decode_parts(wire::encode_frame(f));
    if (!alone || !(*alone == f)) FAIL_CHECK("a batched frame does not decode alone as itself");
  });
  if (!ok && ok.error().code != errc::bad_message) FAIL_CHECK("for_each_batched failed with " << mesh::to_string(ok.error().code));
}

}  // namespace

// decode_into reads most types straight from the bytes (wire::detail::direct_reader) and the
// others through msgpack-c's object tree; both must accept and reject the same inputs and produce
// the same values.
template <class T>
void same_as_msgpack_c(std::string_view input, law_stats& st) {
  static_assert(wire::detail::direct_decodable<T>(), "this law is about types with a direct decoder");
  T direct{}, via_object{};
  auto const a = wire::decode_into(input, direct);
  auto const b = wire::decode_into_via_object(input, via_object);
  if (a.has_value() != b.has_value()) {
    FAIL_CHECK("direct decoding " << (a ? "accepts" : "rejects") << " what msgpack-c " << (b ? "accepts" : "rejects")
                                  << " as " << wire::type_name<T>() << ": " << hex(input));
    return;
  }
  // decode_body_into skips validate() (frame bodies passed it already): on any bytes it must not
  // crash, and it must decide as decode_into does (only the message of a malformed body differs).
  T body{};
  auto const c = wire::decode_body_into(input, body);
  if (c.has_value() != a.has_value())
    FAIL_CHECK("decode_body_into " << (c ? "accepts" : "rejects") << " what decode_into " << (a ? "accepts" : "rejects")
                                   << " as " << wire::type_name<T>() << ": " << hex(input));
  else if (c && wire::encode(body) != wire::encode(direct))
    FAIL_CHECK("decode_body_into and decode_into disagree on the value of " << wire::type_name<T>() << ": " << hex(input));
  if (!a) {
    CHECK(a.error().code == errc::bad_message);
    CHECK(a.error().message == b.error().message);
    ++st.rejected;
    return;
  }
  ++st.decoded;
  if (wire::encode(direct) != wire::encode(via_object))  // by encoding: NaN != NaN
    FAIL_CHECK("direct decoding and msgpack-c disagree on the value of " << wire::type_name<T>() << ": " << hex(input));
}

template <class T, class Other>
void agreement_for(generator& g, std::size_t count, law_stats& st) {
  for (std::size_t i = 0; i < count; ++i) {
    auto const bytes = wire::encode(g.value<T>());
    same_as_msgpack_c<T>(bytes, st);
    same_as_msgpack_c<T>(g.mutate(bytes), st);
    same_as_msgpack_c<T>(g.mutate(g.mutate(bytes)), st);
    same_as_msgpack_c<T>(wire::encode(g.value<Other>()), st);  // another type's body
    same_as_msgpack_c<T>(g.noise(g.below(24)), st);
  }
}

TEST_CASE("direct decoding agrees with msgpack-c's conversion on valid, mutated and foreign bodies") {
  // Which types take the direct path: numbers, enums, strings, vectors and optionals of them, and
  // reflected structs and tags made of those; not maps, tuples, arrays or byte vectors.
  static_assert(wire::detail::direct_decodable<Point>() && wire::detail::direct_decodable<Adapted>() &&
                wire::detail::direct_decodable<Ints>() && wire::detail::direct_decodable<Get>());
  static_assert(!wire::detail::direct_decodable<Containers>() && !wire::detail::direct_decodable<Nested>() &&
                !wire::detail::direct_decodable<std::vector<std::uint8_t>>() &&
                !wire::detail::direct_decodable<std::map<std::string, int>>());
  generator g(0x5eed0006);
  law_stats st;
  agreement_for<std::int8_t, std::int64_t>(g, 300, st);
  agreement_for<std::uint16_t, std::int32_t>(g, 300, st);
  agreement_for<std::int64_t, double>(g, 300, st);
  agreement_for<std::uint64_t, std::int64_t>(g, 300, st);
  agreement_for<char, std::uint8_t>(g, 200, st);
  agreement_for<bool, std::int8_t>(g, 200, st);
  agreement_for<float, std::int64_t>(g, 300, st);
  agreement_for<double, std::uint64_t>(g, 300, st);
  agreement_for<color, big>(g, 200, st);
  agreement_for<big, std::uint64_t>(g, 200, st);
  agreement_for<plain_enum, std::int64_t>(g, 200, st);
  agreement_for<std::string, std::vector<std::uint8_t>>(g, 400, st);
  agreement_for<Get, std::vector<int>>(g, 100, st);
  agreement_for<Point, Ints>(g, 400, st);
  agreement_for<Adapted, Point>(g, 400, st);
  agreement_for<Ints, Floats>(g, 400, st);
  agreement_for<Floats, Ints>(g, 300, st);
  agreement_for<std::vector<Point>, std::vector<std::string>>(g, 300, st);
  agreement_for<std::optional<Adapted>, Adapted>(g, 200, st);
  agreement_for<std::vector<std::optional<std::int16_t>>, std::vector<std::int64_t>>(g, 300, st);
  MESSAGE("agreement cases decoded: " << st.decoded << ", rejected: " << st.rejected);
  CHECK(st.decoded > 1000);
  CHECK(st.rejected > 1000);
}

TEST_CASE("codec laws hold for thousands of random scalar values") {
  generator g(0x5eed0001);
  law_stats st;
  laws_for<std::int8_t, std::uint8_t>(g, 300, st);
  laws_for<std::int16_t, std::int8_t>(g, 300, st);
  laws_for<std::int32_t, std::uint16_t>(g, 300, st);
  laws_for<std::int64_t, std::int32_t>(g, 300, st);
  laws_for<std::uint8_t, bool>(g, 300, st);
  laws_for<std::uint16_t, std::int16_t>(g, 300, st);
  laws_for<std::uint32_t, float>(g, 300, st);
  laws_for<std::uint64_t, std::int64_t>(g, 300, st);
  laws_for<bool, std::uint8_t>(g, 100, st);
  laws_for<float, double>(g, 300, st);
  laws_for<double, float>(g, 300, st);
  laws_for<color, big>(g, 200, st);
  laws_for<big, std::int64_t>(g, 200, st);
  laws_for<plain_enum, color>(g, 200, st);
  laws_for<std::string, std::vector<std::uint8_t>>(g, 500, st);
  laws_for<Get, std::vector<int>>(g, 50, st);
  MESSAGE("mutated scalars decoded: " << st.decoded << ", rejected: " << st.rejected);
  CHECK(st.rejected > 0);
}

TEST_CASE("codec laws hold for thousands of random reflected messages and containers") {
  generator g(0x5eed0002);
  law_stats st;
  laws_for<Point, Get>(g, 500, st);
  laws_for<Adapted, Point>(g, 400, st);
  laws_for<Ints, Floats>(g, 400, st);
  laws_for<Floats, Ints>(g, 300, st);
  laws_for<Containers, Adapted>(g, 300, st);
  laws_for<Nested, Containers>(g, 200, st);
  laws_for<std::vector<Point>, std::map<std::int32_t, std::int32_t>>(g, 300, st);
  laws_for<std::map<std::string, Adapted>, std::vector<Adapted>>(g, 200, st);
  laws_for<std::optional<Nested>, Nested>(g, 100, st);
  MESSAGE("mutated messages decoded: " << st.decoded << ", rejected: " << st.rejected);
  CHECK(st.rejected > st.decoded);  // most mutations of structured bodies must be caught
  CHECK(st.decoded > 0);            // and some do decode (a flipped bit in a number)
}

TEST_CASE("codec rejects or cleanly decodes random byte strings as every message type") {
  generator g(0x5eed0003);
  law_stats st;
  random_bytes_law<std::int64_t>(g, 1500, st);
  random_bytes_law<std::string>(g, 1500, st);
  random_bytes_law<double>(g, 1000, st);
  random_bytes_law<Get>(g, 1000, st);
  random_bytes_law<Point>(g, 2000, st);
  random_bytes_law<Adapted>(g, 2000, st);
  random_bytes_law<Containers>(g, 2000, st);
  random_bytes_law<Nested>(g, 2000, st);
  random_bytes_law<std::map<std::string, std::int32_t>>(g, 1500, st);
  random_bytes_law<std::vector<std::optional<std::uint8_t>>>(g, 1500, st);
  MESSAGE("random inputs decoded: " << st.decoded << ", rejected: " << st.rejected);
  CHECK(st.rejected > 0);
}

TEST_CASE("codec rejects huge length prefixes whatever follows them") {
  generator g(0x5eed0004);
  static constexpr unsigned char markers32[] = {0xdb, 0xc6, 0xc9, 0xdd, 0xdf};
  for (int i = 0; i < 2000; ++i) {
    std::string s(1, static_cast<char>(markers32[g.below(std::size(markers32))]));
    std::uint32_t const len = 0x10000000u + static_cast<std::uint32_t>(g.bits() % 0xefffffffu);
    for (int b = 3; b >= 0; --b) s.push_back(static_cast<char>((len >> (8 * b)) & 0xff));
    s += g.noise(g.below(64));
    check_rejected<std::string>(s, "huge length prefix");
    check_rejected<Nested>(s, "huge length prefix");
    check_rejected<std::vector<std::int64_t>>(s, "huge length prefix");
    std::string const nested = std::string("\x92\x01", 2) + s;  // inside a container
    check_rejected<std::vector<std::string>>(nested, "huge length prefix");
  }
}

TEST_CASE("frame laws hold for thousands of random frames of every kind") {
  generator g(0x5eed0005);
  law_stats st;
  std::size_t per_kind[6] = {};
  for (int i = 0; i < 2000; ++i) {
    wire::frame const f = random_frame(g);
    ++per_kind[static_cast<int>(f.h.k)];
    auto const parts = wire::encode_frame(f);
    auto back = decode_parts(parts);
    if (!back) {
      FAIL_CHECK("decode_frame rejected its own encoding: " << back.error().message);
      continue;
    }
    wire::frame expected = f;
    expected.h.text = std::string(wire::detail::clip_error_text(f.h.text));  // long error texts are cut
    if (!(*back == expected)) FAIL_CHECK("decode_frame(encode_frame(f)) != f for kind " << static_cast<int>(f.h.k));
    if (f.h.k == wire::kind::batch) {  // and its frames come out as they went in
      wire::frame scratch;
      std::vector<wire::frame> inner;
      auto ok = wire::for_each_batched(*back, scratch, {}, [&](wire::frame& x) { inner.push_back(std::move(x)); });
      if (!ok || inner.size() != f.h.frames) FAIL_CHECK("a batch did not yield its frames");
      for (auto& x : inner)
        if (x.h.k == wire::kind::error && x.h.text.size() > wire::max_error_text_bytes) FAIL_CHECK("uncut error text in a batch");
    }

    // Truncated or extended parts are rejected.
    {
      auto cut = parts;
      auto& p = cut[g.below(cut.size())];
      p.resize(g.below(p.size()));
      auto r = decode_parts(cut);
      if (r || r.error().code != errc::bad_message) FAIL_CHECK("a truncated part was not rejected");
      auto longer = parts;
      longer[g.below(longer.size())] += g.noise(1 + g.below(4));
      r = decode_parts(longer);
      if (r || r.error().code != errc::bad_message) FAIL_CHECK("a part with trailing bytes was not rejected");
    }
    // Mutations of one part, and of the part count.
    for (int k = 0; k < 6; ++k) {
      auto m = parts;
      switch (g.below(5)) {
        case 0: m.erase(m.begin() + static_cast<std::ptrdiff_t>(g.below(m.size()))); break;
        case 1: m.push_back(wire::encode(g.value<Point>())); break;
        case 2: std::swap(m[0], m[g.below(m.size())]); break;
        default: {
          auto& p = m[g.below(m.size())];
          p = g.mutate(p);
          break;
        }
      }
      check_frame_decodes_or_rejects(m, st);
    }
    // Random parts.
    std::vector<std::string> noise(1 + g.below(3));
    for (auto& p : noise) p = g.noise(g.below(20));
    check_frame_decodes_or_rejects(noise, st);
  }
  for (auto n : per_kind) CHECK(n > 300);
  MESSAGE("mutated frames decoded: " << st.decoded << ", rejected: " << st.rejected);
  CHECK(st.rejected > st.decoded);
}
