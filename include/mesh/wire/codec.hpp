#pragma once
/// The msgpack codec: encode<T>/decode<T> for every reflected type, with the limits that make
/// decoding untrusted bytes safe. All msgpack parsing of network input goes through decode_into.

#include <mesh/core/error.hpp>
#include <mesh/wire/reflect.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace mesh::wire {

/// Bounds applied to every decoded frame. Exceeding one is errc::bad_message, never a crash.
struct limits {
  std::size_t max_payload_bytes = 16u << 20;  ///< largest msgpack body accepted (default 16 MiB)
  std::size_t max_depth = 64;                 ///< deepest nesting of arrays/maps
};

namespace detail {
inline std::uint64_t be(unsigned char const* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

/// Unpacks `bytes` into a per-thread msgpack zone that is reused from one decode to the next
/// (msgpack::unpack would allocate a zone and its 8 KiB chunk for every message), then calls
/// f(object). The zone is cleared afterwards (it keeps one chunk). A nested decode on the same
/// thread gets a zone of its own.
template <class F>
decltype(auto) with_unpacked(std::string_view bytes, msgpack::unpack_limit const& ul, F&& f) {
  struct scratch {
    msgpack::zone zone;
    bool busy = false;
  };
  thread_local scratch s;
  if (s.busy) {
    msgpack::zone own;
    return f(msgpack::unpack(own, bytes.data(), bytes.size(), nullptr, nullptr, ul));
  }
  s.busy = true;
  struct release {
    scratch& s;
    ~release() {
      s.zone.clear();
      s.busy = false;
    }
  } r{s};
  return f(msgpack::unpack(s.zone, bytes.data(), bytes.size(), nullptr, nullptr, ul));
}
}  // namespace detail

namespace detail {
/// Walks the one msgpack object at the start of `bytes` (validate()'s checks but the last) and
/// returns its length in `size`; bytes after it are left alone.
inline result<void> object_size(std::string_view bytes, limits const& lim, std::size_t& size) {
  auto const* p = reinterpret_cast<unsigned char const*>(bytes.data());
  std::size_t const n = bytes.size();
  if (n == 0) return fail(errc::bad_message, "empty msgpack body");
  constexpr std::size_t stack_cap = 256;
  std::uint64_t pending[stack_cap];  // objects still expected at each open container
  std::size_t depth = 0;
  std::size_t off = 0;
  std::uint64_t top_remaining = 1;
  auto truncated = [] { return fail(errc::bad_message, "truncated msgpack body"); };
  auto need = [&](std::uint64_t k) { return k <= n - off; };
  std::size_t const max_depth = lim.max_depth < stack_cap ? lim.max_depth : stack_cap;
  while (true) {
    // Close finished containers.
    while (depth > 0 && pending[depth - 1] == 0) --depth;
    if (depth == 0 && top_remaining == 0) break;
    if (off >= n) return truncated();
    if (depth > 0) --pending[depth - 1];
    else --top_remaining;
    unsigned char const t = p[off++];
    std::uint64_t skip = 0, children = 0;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
    } else if (t <= 0x8f) children = 2u * (t & 0x0f);
    else if (t <= 0x9f) children = t & 0x0f;
    else if (t <= 0xbf) skip = t & 0x1f;
    else {  // braced: clang 14 -Wmisleading-indentation misreads the cases of an unbraced `else switch`
      switch (t) {
        case 0xc1: return fail(errc::bad_message, "reserved msgpack byte 0xc1");
        case 0xc4: case 0xd9: if (!need(1)) return truncated(); skip = detail::be(p + off, 1); off += 1; break;
        case 0xc5: case 0xda: if (!need(2)) return truncated(); skip = detail::be(p + off, 2); off += 2; break;
        case 0xc6: case 0xdb: if (!need(4)) return truncated(); skip = detail::be(p + off, 4); off += 4; break;
        case 0xc7: if (!need(1)) return truncated(); skip = detail::be(p + off, 1) + 1; off += 1; break;
        case 0xc8: if (!need(2)) return truncated(); skip = detail::be(p + off, 2) + 1; off += 2; break;
        case 0xc9: if (!need(4)) return truncated(); skip = detail::be(p + off, 4) + 1; off += 4; break;
        case 0xca: skip = 4; break;
        case 0xcb: skip = 8; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break;
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: if (!need(2)) return truncated(); children = detail::be(p + off, 2); off += 2; break;
        case 0xdd: if (!need(4)) return truncated(); children = detail::be(p + off, 4); off += 4; break;
        case 0xde: if (!need(2)) return truncated(); children = 2 * detail::be(p + off, 2); off += 2; break;
        case 0xdf: if (!need(4)) return truncated(); children = 2 * detail::be(p + off, 4); off += 4; break;
        default: return fail(errc::bad_message, "invalid msgpack byte");
      }
    }
    if (!need(skip)) return truncated();
    off += skip;
    if (children > 0) {
      if (children > n - off) return truncated();  // every element needs at least one byte
      if (depth >= max_depth) return fail(errc::bad_message, "msgpack nesting deeper than " + std::to_string(max_depth));
      pending[depth++] = children;
    }
  }
  size = off;
  return {};
}
}  // namespace detail

/// Checks that [data, data+size) holds exactly one well-formed msgpack object within `lim`:
/// every length is backed by bytes, nesting stays under max_depth, no reserved byte (0xc1), no
/// trailing bytes. Linear time, no allocation: after it passes, msgpack-c's allocation is bounded
/// by the input size.
inline result<void> validate(std::string_view bytes, limits const& lim = {}) {
  std::size_t const n = bytes.size();
  if (n > lim.max_payload_bytes)
    return fail(errc::too_large, "payload of " + std::to_string(n) + " bytes exceeds the limit of " +
                                       std::to_string(lim.max_payload_bytes));
  std::size_t off = 0;
  if (auto ok = detail::object_size(bytes, lim, off); !ok) return ok;
  if (off != n) return fail(errc::bad_message, std::to_string(n - off) + " trailing bytes after msgpack body");
  return {};
}

/// msgpack-c output stream appending to a std::string. One type for every T, so msgpack::packer
/// and its primitive packers are instantiated once per translation unit, not once per message type.
struct string_writer {
  std::string* s;
  void write(char const* d, std::size_t k) { s->append(d, k); }
};

/// Encodes v as msgpack and appends it to out.
template <class T>
void encode_to(std::string& out, T const& v) {
  string_writer w{&out};
  msgpack::packer<string_writer> pk(w);
  if constexpr (detail::has_member_fields<T>()) detail::pack_fields(pk, v, detail::fields_t<T>{});
  else pk.pack(v);  // reflected structs skip msgpack-c's adaptor lookup (compile time per message)
}

/// v as msgpack bytes.
template <class T>
std::string encode(T const& v) {
  std::string out;
  encode_to(out, v);
  return out;
}

namespace detail {
[[gnu::cold, gnu::noinline]] inline error mistyped(std::string_view type) {
  return fail(errc::bad_message, "msgpack body does not have the expected type " + std::string(type));
}
[[gnu::cold, gnu::noinline]] inline error malformed(char const* what) {
  return fail(errc::bad_message, std::string("malformed msgpack body: ") + what);
}

using convert_fn = void (*)(msgpack::object const&, void*);
template <class T>
void convert_erased(msgpack::object const& o, void* v) {
  if constexpr (has_member_fields<T>()) convert_fields(o, *static_cast<T*>(v), fields_t<T>{});
  else o.convert(*static_cast<T*>(v));
}

// ---- direct decoding -----------------------------------------------------------------------
// Most messages are structs of numbers, strings, vectors, optionals and structs. Those are read
// straight from the bytes into the C++ value: no msgpack::object tree, no zone, none of the
// parser's stack allocations (2 of them per msgpack::unpack). The conversion rules are msgpack-c's
// (tests/wire compare both paths): an integer must fit its type, a float accepts integers, a
// string accepts str and bin, an optional accepts nil, a struct is an array of exactly its fields;
// anything else throws msgpack::type_error. Other types (maps, tuples, arrays, byte vectors, ...)
// keep the msgpack::object path.

/// A cursor over msgpack bytes. Every read is bounds-checked and nesting follows the C++ type
/// (not the input), so it is safe on any bytes, also ones that skipped validate() (frame bodies
/// validated once already, see decode_body_into); running out of bytes is a type mismatch.
struct direct_reader {
  unsigned char const* p;
  unsigned char const* end;

  [[noreturn, gnu::cold]] static void mismatch() { throw msgpack::type_error(); }
  unsigned char next() {
    if (p == end) mismatch();
    return *p++;
  }
  std::uint64_t take(int n) {
    if (end - p < n) mismatch();
    auto const v = be(p, n);
    p += n;
    return v;
  }
  /// An integer of any encoding: true with u set when non-negative, false with i set otherwise
  /// (msgpack-c's POSITIVE_INTEGER / NEGATIVE_INTEGER).
  bool integer(std::uint64_t& u, std::int64_t& i) {
    unsigned char const t = next();
    std::int64_t s;
    if (t <= 0x7f) { u = t; return true; }
    if (t >= 0xe0) { i = static_cast<std::int8_t>(t); return false; }
    switch (t) {
      case 0xcc: u = take(1); return true;
      case 0xcd: u = take(2); return true;
      case 0xce: u = take(4); return true;
      case 0xcf: u = take(8); return true;
      case 0xd0: s = static_cast<std::int8_t>(take(1)); break;
      case 0xd1: s = static_cast<std::int16_t>(take(2)); break;
      case 0xd2: s = static_cast<std::int32_t>(take(4)); break;
      case 0xd3: s = static_cast<std::int64_t>(take(8)); break;
      default: mismatch();
    }
    if (s >= 0) {
      u = static_cast<std::uint64_t>(s);
      return true;
    }
    i = s;
    return false;
  }
  template <class T>
  T integral() {
    std::uint64_t u;
    std::int64_t i;
    if (integer(u, i)) {
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) mismatch();
      return static_cast<T>(u);
    }
    if constexpr (std::is_signed_v<T>) {
      if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min())) mismatch();
      return static_cast<T>(i);
    } else {
      mismatch();
    }
  }
  template <class T>
  T floating() {
    if (p == end) mismatch();
    unsigned char const t = *p;
    if (t == 0xca) {
      ++p;
      auto bits = static_cast<std::uint32_t>(take(4));
      // msgpack-c widens a float32 to double on parsing, which quiets a signalling NaN: so do we.
      if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu)) bits |= 0x00400000u;
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return static_cast<T>(f);
    }
    if (t == 0xcb) {
      ++p;
      auto const bits = take(8);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return static_cast<T>(d);
    }
    std::uint64_t u;
    std::int64_t i;
    return integer(u, i) ? static_cast<T>(u) : static_cast<T>(i);
  }
  bool boolean() {
    unsigned char const t = next();
    if (t == 0xc2) return false;
    if (t == 0xc3) return true;
    mismatch();
  }
  /// A str or bin value's bytes.
  std::string_view bytes() {
    unsigned char const t = next();
    std::uint64_t n;
    if (t >= 0xa0 && t <= 0xbf) n = t & 0x1f;
    else if (t == 0xd9 || t == 0xc4) n = take(1);
    else if (t == 0xda || t == 0xc5) n = take(2);
    else if (t == 0xdb || t == 0xc6) n = take(4);
    else mismatch();
    if (static_cast<std::uint64_t>(end - p) < n) mismatch();
    std::string_view const v(reinterpret_cast<char const*>(p), static_cast<std::size_t>(n));
    p += n;
    return v;
  }
  std::uint32_t array() {
    unsigned char const t = next();
    if (t >= 0x90 && t <= 0x9f) return t & 0x0f;
    if (t == 0xdc) return static_cast<std::uint32_t>(take(2));
    if (t == 0xdd) return static_cast<std::uint32_t>(take(4));
    mismatch();
  }
  bool nil() {
    if (p != end && *p == 0xc0) {
      ++p;
      return true;
    }
    return false;
  }
};

template <class T>
constexpr bool direct_decodable();
template <class T, class Names, auto... Ptrs>
constexpr bool fields_direct(member_fields<Names, Ptrs...>) {
  return (direct_decodable<std::remove_cvref_t<decltype(std::declval<T&>().*Ptrs)>>() && ...);
}
/// True when T (and everything inside it) has a direct decoder.
template <class T>
constexpr bool direct_decodable() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_arithmetic_v<U> || std::is_enum_v<U> || std::is_same_v<U, std::string>) return true;
  else if constexpr (is_vector<U>::value) {
    using E = typename U::value_type;  // byte and bool vectors have msgpack-c adaptors of their own
    return !std::is_same_v<E, char> && !std::is_same_v<E, unsigned char> && !std::is_same_v<E, std::byte> &&
           !std::is_same_v<E, bool> && direct_decodable<E>();
  } else if constexpr (is_optional<U>::value) return direct_decodable<typename U::value_type>();
  else if constexpr (has_member_fields<U>()) return fields_direct<U>(fields_t<U>{});
  else if constexpr (is_tag_v<U>) return true;
  else return false;
}

template <class T>
void read_direct(direct_reader& r, T& v);
template <class T>
[[gnu::noinline]] void read_one(direct_reader& r, T& v) {  // one per field type, as convert_one
  read_direct(r, v);
}
template <class T, class Names, auto... Ptrs>
void read_fields(direct_reader& r, T& v, member_fields<Names, Ptrs...>) {
  if (r.array() != sizeof...(Ptrs)) direct_reader::mismatch();
  (read_one(r, v.*Ptrs), ...);
}
template <class T>
void read_direct(direct_reader& r, T& v) {
  if constexpr (std::is_same_v<T, bool>) v = r.boolean();
  else if constexpr (std::is_floating_point_v<T>) v = r.floating<T>();
  else if constexpr (std::is_integral_v<T>) v = r.integral<T>();
  else if constexpr (std::is_enum_v<T>) v = static_cast<T>(r.integral<std::underlying_type_t<T>>());
  else if constexpr (std::is_same_v<T, std::string>) v.assign(r.bytes());
  else if constexpr (is_vector<T>::value) {
    auto const n = r.array();
    if (n > static_cast<std::size_t>(r.end - r.p)) direct_reader::mismatch();  // each element takes a byte
    v.clear();
    v.resize(n);
    for (auto& e : v) read_one(r, e);
  } else if constexpr (is_optional<T>::value) {
    if (r.nil()) {
      v.reset();
    } else {
      if (!v) v.emplace();
      read_one(r, *v);
    }
  } else if constexpr (has_member_fields<T>()) {
    read_fields(r, v, fields_t<T>{});
  } else {
    static_assert(is_tag_v<T>);
    if (r.array() != 0) direct_reader::mismatch();
  }
}

using read_fn = void (*)(direct_reader&, void*);
template <class T>
void read_erased(direct_reader& r, void* v) {
  read_direct(r, *static_cast<T*>(v));
}

/// Validate (unless the caller already did) + parse (into the thread's reused zone, or directly
/// when `direct` is given) + convert + error mapping, written once: each decode<T> only supplies
/// its converter.
[[gnu::noinline]] inline result<void> decode_erased(std::string_view bytes, limits const& lim, void* v, convert_fn conv,
                                                    std::string_view type, read_fn direct = nullptr,
                                                    bool validated = false) {
  if (!validated)
    if (auto ok = validate(bytes, lim); !ok) return ok;
  try {
    if (direct) {
      auto const* b = reinterpret_cast<unsigned char const*>(bytes.data());
      direct_reader r{b, b + bytes.size()};
      direct(r, v);
      if (r.p != r.end) direct_reader::mismatch();  // trailing bytes (validate() rejects them first when it ran)
      return {};
    }
    std::size_t const n = bytes.size();
    msgpack::unpack_limit ul(n, n, n, n, n, lim.max_depth);
    with_unpacked(bytes, ul, [&](msgpack::object const& o) { conv(o, v); });
    return {};
  } catch (msgpack::type_error const&) {
    return mistyped(type);
  } catch (std::exception const& e) {
    return malformed(e.what());
  }
}
}  // namespace detail

namespace detail {
/// decode_into and decode_body_into: the direct reader when T has one, else msgpack-c's path
/// (which always validates first: msgpack-c's allocation is bounded only for validated input).
template <class T>
result<void> decode_typed(std::string_view bytes, T& v, limits const& lim, bool validated) {
  if constexpr (direct_decodable<T>())
    return decode_erased(bytes, lim, &v, nullptr, type_name<T>(), &read_erased<T>, validated);
  else
    return decode_erased(bytes, lim, &v, &convert_erased<T>, type_name<T>());
}
}  // namespace detail

/// Decodes msgpack bytes into v. Any malformed, oversized or mistyped input is errc::bad_message,
/// and v is left unspecified but valid.
template <class T>
result<void> decode_into(std::string_view bytes, T& v, limits const& lim = {}) {
  return detail::decode_typed(bytes, v, lim, false);
}

/// decode_into for a body that already passed validate() with `lim` (a frame body from
/// decode_frame_into): the direct reader skips the second validation pass.
template <class T>
result<void> decode_body_into(std::string_view bytes, T& v, limits const& lim = {}) {
  return detail::decode_typed(bytes, v, lim, true);
}

namespace detail {
/// decode_body_into for a payload known only as a pointer (the request paths' tables of operations).
using decode_fn = result<void> (*)(std::string_view bytes, limits const& lim, void* v);
template <class T>
result<void> decode_erased_into(std::string_view bytes, limits const& lim, void* v) {
  return decode_body_into(bytes, *static_cast<T*>(v), lim);
}
}  // namespace detail

/// msgpack-c's path for any T (decode_into picks the direct reader when T has one); tests compare
/// the two.
template <class T>
result<void> decode_into_via_object(std::string_view bytes, T& v, limits const& lim = {}) {
  return detail::decode_erased(bytes, lim, &v, &detail::convert_erased<T>, type_name<T>());
}

/// Decodes msgpack bytes into a new T (see decode_into).
template <class T>
result<T> decode(std::string_view bytes, limits const& lim = {}) {
  T v{};
  if (auto ok = decode_into(bytes, v, lim); !ok) return std::move(ok).error();
  return v;
}

}  // namespace mesh::wire
