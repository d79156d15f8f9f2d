// A consumer of mesh through its public API only: a schema, shard_for and a codec round trip.
#include <mesh/mesh.hpp>

#include <cstdio>
#include <string>
#include <vector>

struct counters : mesh::capability<"counters"> {};

struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, amount), (std::vector<std::string>, tags));
};
struct Get {};

struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get>;
  explicit Counter(std::string_view) {}
  long handle(Add const& a) { return total += a.amount; }
  long handle(Get const&) { return total; }
  long total = 0;
};

using app = mesh::schema<Counter>;
static_assert(app::valid);
static_assert(mesh::wire::check_serializable<app>());
static_assert(app::names()[0] == "counter");

int main() {
  std::string const bytes = mesh::wire::encode(Add{5, {"a", "b"}});
  mesh::result<Add> back = mesh::wire::decode<Add>(bytes);
  if (!back || back->amount != 5 || back->tags.size() != 2) {
    std::puts("codec round trip failed");
    return 1;
  }
  mesh::result<Add> bad = mesh::wire::decode<Add>(bytes.substr(1));
  if (bad || bad.error().code != mesh::errc::bad_message) {
    std::puts("a truncated body was not rejected");
    return 1;
  }
  std::uint32_t const shard = mesh::shard_for("player_123");
  if (shard != 1187) {
    std::puts("shard_for disagrees with erlang:phash2");
    return 1;
  }
  std::printf("mesh %s consumer ok: shard %u, fingerprint %016llx\n", mesh::version_string, shard,
              static_cast<unsigned long long>(mesh::wire::fingerprint_v<app>));
  return 0;
}
