#pragma once
/// mesh::shard_for: erlang:phash2(Binary, Range) for an actor id's bytes, bit for bit, so shard
/// numbers agree with an Elixir Mesh deployment.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mesh {

namespace detail {

// Bob Jenkins' lookup2 mix, as in OTP's erts/emulator/beam/utils.c (block_hash).
constexpr void phash2_mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) noexcept {
  a -= b; a -= c; a ^= (c >> 13);
  b -= c; b -= a; b ^= (a << 8);
  c -= a; c -= b; c ^= (b >> 13);
  a -= b; a -= c; a ^= (c >> 12);
  b -= c; b -= a; b ^= (a << 16);
  c -= a; c -= b; c ^= (b >> 5);
  a -= b; a -= c; a ^= (c >> 3);
  b -= c; b -= a; b ^= (a << 10);
  c -= a; c -= b; c ^= (b >> 15);
}

constexpr std::uint32_t load_le32(unsigned char const* k) noexcept {
  return std::uint32_t(k[0]) | (std::uint32_t(k[1]) << 8) | (std::uint32_t(k[2]) << 16) | (std::uint32_t(k[3]) << 24);
}

/// make_hash2 of a binary term: block_hash(bytes, HCONST_13) (HCONST_13 = golden ratio * 13 mod 2^32),
/// and HCONST_13 itself for the empty binary.
constexpr std::uint32_t phash2_binary(unsigned char const* k, std::size_t length) noexcept {
  constexpr std::uint32_t hconst = 0x9e3779b9u;
  constexpr std::uint32_t hconst_13 = hconst * 13u;
  if (length == 0) return hconst_13;
  std::uint32_t a = hconst, b = hconst, c = hconst_13;
  std::size_t len = length;
  while (len >= 12) {
    a += load_le32(k);
    b += load_le32(k + 4);
    c += load_le32(k + 8);
    phash2_mix(a, b, c);
    k += 12;
    len -= 12;
  }
  c += static_cast<std::uint32_t>(length);
  switch (len) {  // every case falls through, as in OTP
    case 11: c += std::uint32_t(k[10]) << 24; [[fallthrough]];
    case 10: c += std::uint32_t(k[9]) << 16; [[fallthrough]];
    case 9: c += std::uint32_t(k[8]) << 8; [[fallthrough]];
    case 8: b += std::uint32_t(k[7]) << 24; [[fallthrough]];
    case 7: b += std::uint32_t(k[6]) << 16; [[fallthrough]];
    case 6: b += std::uint32_t(k[5]) << 8; [[fallthrough]];
    case 5: b += k[4]; [[fallthrough]];
    case 4: a += std::uint32_t(k[3]) << 24; [[fallthrough]];
    case 3: a += std::uint32_t(k[2]) << 16; [[fallthrough]];
    case 2: a += std::uint32_t(k[1]) << 8; [[fallthrough]];
    case 1: a += k[0]; [[fallthrough]];
    default: break;
  }
  phash2_mix(a, b, c);
  return c;
}

}  // namespace detail

/// The shard of an actor id: erlang:phash2(<<Id/binary>>, Range), in [0, range).
/// `range` must be in 1..2^32 (as for erlang:phash2/2); 0 is treated as 1, larger values as 2^32.
/// Thread-safe and allocation-free.
inline std::uint32_t shard_for(std::string_view id, std::uint64_t range = 4096) noexcept {
  std::uint32_t h = detail::phash2_binary(reinterpret_cast<unsigned char const*>(id.data()), id.size());
  if (range == 0) return 0;
  if (range >= (std::uint64_t{1} << 32)) return h;
  return static_cast<std::uint32_t>(h % range);
}

}  // namespace mesh
