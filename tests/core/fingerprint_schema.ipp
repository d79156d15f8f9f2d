// The base schema of the fingerprint tests, included by several translation units. Its types
// live in an anonymous namespace, so they are spelled "{anonymous}::fp::Add" in every TU and a
// variant TU can change exactly one aspect (a field's name or type) through these macros.
#include <mesh/core/schema.hpp>
#include <mesh/wire/fingerprint.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#ifndef MESH_FP_FIELD_NAME
#define MESH_FP_FIELD_NAME amount
#endif
#ifndef MESH_FP_FIELD_TYPE
#define MESH_FP_FIELD_TYPE std::int64_t
#endif

namespace {
namespace fp {
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (MESH_FP_FIELD_TYPE, MESH_FP_FIELD_NAME), (std::string, note));
};
struct Get {};
struct Start {
  BOOST_HANA_DEFINE_STRUCT(Start, (std::int64_t, initial));
};
struct counters : mesh::capability<"counters"> {};
struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get>;
  using init_arg = Start;
  Counter(std::string_view, Start const&) {}
  long handle(Add const&) { return 0; }
  long handle(Get const&) { return 0; }
};
using schema = mesh::schema<Counter>;
static_assert(schema::valid);
static_assert(mesh::wire::check_serializable<schema>());
}  // namespace fp
}  // namespace
