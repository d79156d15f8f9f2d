// cluster::owner_index: the seed's modulo placement and rendezvous hashing.
#include <mesh/cluster/placement.hpp>
#include <mesh/cluster/shard.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

std::vector<std::size_t> owners(mesh::placement p, std::vector<std::string> const& nodes, int ids) {
  std::vector<std::size_t> out;
  for (int i = 0; i < ids; ++i)
    out.push_back(mesh::cluster::owner_index(p, mesh::shard_for("id-" + std::to_string(i)), nodes));
  return out;
}

/// Share of `ids` ids whose owner (by name) changes when "n4" joins n1..n3.
double moved_on_join(mesh::placement p, int ids) {
  std::vector<std::string> const three{"n1", "n2", "n3"}, four{"n1", "n2", "n3", "n4"};
  auto const before = owners(p, three, ids), after = owners(p, four, ids);
  int moved = 0;
  for (std::size_t i = 0; i < before.size(); ++i)
    if (three[before[i]] != four[after[i]]) ++moved;
  return static_cast<double>(moved) / ids;
}

}  // namespace

TEST_CASE("modulo placement is the seed's sorted(nodes)[shard % n]") {
  std::vector<std::string> const nodes{"a", "b", "c"};
  for (std::uint64_t shard : {0u, 1u, 2u, 3u, 2451u, 4095u})
    CHECK(mesh::cluster::owner_index(mesh::placement::modulo, shard, nodes) == shard % 3);
  CHECK(mesh::cluster::owner_index(mesh::placement::rendezvous, 77, std::vector<std::string>{"only"}) == 0);
}

TEST_CASE("rendezvous placement moves at most a third of 10000 ids when a 4th node joins") {
  double const rendezvous = moved_on_join(mesh::placement::rendezvous, 10000);
  double const modulo = moved_on_join(mesh::placement::modulo, 10000);
  std::printf("{\"ids\": 10000, \"join\": \"3 -> 4 nodes\", \"moved_rendezvous\": %.4f, \"moved_modulo\": %.4f, \"ideal\": 0.25}\n",
              rendezvous, modulo);
  CHECK(rendezvous <= 0.33);
  CHECK(modulo > rendezvous);  // the seed's rule moves most ids (about 3/4)
}

TEST_CASE("rendezvous placement spreads 10000 ids evenly over 4 nodes and only joins move them") {
  std::vector<std::string> const four{"n1", "n2", "n3", "n4"};
  auto const o = owners(mesh::placement::rendezvous, four, 10000);
  std::vector<int> count(4, 0);
  for (auto i : o) ++count[i];
  for (int c : count) CHECK((c > 2200 && c < 2800));  // 2500 each; one standard deviation is about 43
  // A leave moves only the leaver's ids: the others keep their owner.
  std::vector<std::string> const without_n2{"n1", "n3", "n4"};
  auto const after = owners(mesh::placement::rendezvous, without_n2, 10000);
  for (std::size_t i = 0; i < o.size(); ++i)
    if (four[o[i]] != "n2") CHECK(without_n2[after[i]] == four[o[i]]);
}
