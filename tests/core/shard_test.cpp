// shard_for: erlang:phash2(<<Id/binary>>, Range), checked against outputs of Erlang/OTP 25.
#include <mesh/cluster/shard.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#ifndef MESH_TEST_PHASH2_TSV
#error "MESH_TEST_PHASH2_TSV must name tests/data/phash2_public.tsv"
#endif

namespace {

struct sample {
  std::string bytes;
  std::uint64_t range;
  std::uint32_t expected;
};

std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  REQUIRE(hex.size() % 2 == 0);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int const hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    REQUIRE(hi >= 0);
    REQUIRE(lo >= 0);
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::vector<sample> const& public_samples() {
  static std::vector<sample> const rows = [] {
    std::vector<sample> out;
    std::ifstream in(MESH_TEST_PHASH2_TSV);
    REQUIRE_MESSAGE(in.good(), "cannot open " MESH_TEST_PHASH2_TSV);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto const t1 = line.find('\t');
      auto const t2 = line.find('\t', t1 + 1);
      REQUIRE(t1 != std::string::npos);
      REQUIRE(t2 != std::string::npos);
      out.push_back({from_hex(std::string_view(line).substr(0, t1)), std::stoull(line.substr(t1 + 1, t2 - t1 - 1)),
                     static_cast<std::uint32_t>(std::stoul(line.substr(t2 + 1)))});
    }
    return out;
  }();
  return rows;
}

// The bytes of a literal as unsigned chars, for constant evaluation of the hash.
template <std::size_t N>
constexpr std::array<unsigned char, N - 1> bytes_of(char const (&s)[N]) {
  std::array<unsigned char, N - 1> out{};
  for (std::size_t i = 0; i + 1 < N; ++i) out[i] = static_cast<unsigned char>(s[i]);
  return out;
}

template <std::size_t N>
constexpr std::uint32_t phash2_constexpr(std::array<unsigned char, N> const& b) {
  return mesh::detail::phash2_binary(b.data(), b.size());
}

constexpr std::uint64_t two_pow_32 = std::uint64_t{1} << 32;

}  // namespace

TEST_CASE("shard_for matches erlang:phash2 on every row of the public sample") {
  auto const& rows = public_samples();
  REQUIRE(rows.size() > 2800);
  std::size_t mismatches = 0;
  for (auto const& r : rows) {
    auto const got = mesh::shard_for(r.bytes, r.range);
    if (got != r.expected) {
      ++mismatches;
      if (mismatches <= 10) {
        CAPTURE(r.bytes.size());
        CAPTURE(r.range);
        CHECK(got == r.expected);
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("shard_for covers every sampled input length and range") {
  // Guards the sample itself: lengths 0..64 and the long inputs, and ranges 1 .. 2^32.
  std::vector<bool> seen_len(65, false);
  bool saw_long = false, saw_range_1 = false, saw_range_max = false;
  for (auto const& r : public_samples()) {
    if (r.bytes.size() <= 64) seen_len[r.bytes.size()] = true;
    if (r.bytes.size() >= 1000) saw_long = true;
    saw_range_1 = saw_range_1 || r.range == 1;
    saw_range_max = saw_range_max || r.range == two_pow_32;
  }
  for (std::size_t n = 0; n <= 64; ++n) {
    CAPTURE(n);
    CHECK(seen_len[n]);
  }
  CHECK(saw_long);
  CHECK(saw_range_1);
  CHECK(saw_range_max);
}

TEST_CASE("shard_for defaults to 4096 shards and agrees with the documented example") {
  CHECK(mesh::shard_for("player_123") == 1187u);  // erlang:phash2(<<"player_123">>, 4096)
  CHECK(mesh::shard_for("player_123", 4096) == 1187u);
  CHECK(mesh::shard_for("") == 3685u);
  CHECK(mesh::shard_for(std::string_view("\0", 1)) == 2223u);  // <<0>>
  // A string_view operand: libc++ 14's string_view(char const*) is not noexcept; shard_for is.
  static_assert(noexcept(mesh::shard_for(std::string_view())));
}

TEST_CASE("shard_for handles the range edges 1, 2^32 and beyond") {
  for (auto const& r : public_samples()) {
    CHECK(mesh::shard_for(r.bytes, 1) == 0u);
    if (r.range == two_pow_32) {
      CHECK(mesh::shard_for(r.bytes, two_pow_32 + 1) == r.expected);  // documented: clamped to 2^32
      CHECK(mesh::shard_for(r.bytes, ~std::uint64_t{0}) == r.expected);
      CHECK(mesh::shard_for(r.bytes, two_pow_32 - 1) == r.expected % (two_pow_32 - 1));
      CHECK(mesh::shard_for(r.bytes, 2) == r.expected % 2);
    }
  }
  CHECK(mesh::shard_for("abc", 0) == 0u);  // documented: 0 behaves as 1
  CHECK(mesh::shard_for("", two_pow_32) == 147926629u);
  for (std::uint64_t range : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{7}, std::uint64_t{4096}, two_pow_32 - 1}) {
    for (int i = 0; i < 200; ++i) {
      std::string const id = "id_" + std::to_string(i);
      CHECK(mesh::shard_for(id, range) < range);
    }
  }
}

TEST_CASE("phash2 of a binary is usable in constant expressions") {
  constexpr auto player = bytes_of("player_123");
  static_assert(phash2_constexpr(player) % 4096 == 1187);
  static_assert(mesh::detail::phash2_binary(nullptr, 0) == 147926629u);  // the empty binary
  constexpr auto thirteen = bytes_of("0123456789abc");  // crosses one 12-byte block
  constexpr std::uint32_t h13 = phash2_constexpr(thirteen);
  CHECK(mesh::shard_for("0123456789abc", two_pow_32) == h13);
  constexpr auto twenty_four = bytes_of("0123456789ab0123456789ab");  // exactly two blocks
  CHECK(mesh::shard_for("0123456789ab0123456789ab", two_pow_32) == phash2_constexpr(twenty_four));
}
