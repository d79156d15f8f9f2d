// expect: mesh: message type is not serializable
// culprit: {"lamp"}, Set>
// Rule: enums in messages need a fixed underlying type (enum class, or `enum E : int`), because a
// peer may send any integer and converting an out-of-range value to such an enum is undefined.
#include <mesh/mesh.hpp>

enum mode { off, on };  // no fixed underlying type
struct lights : mesh::capability<"lights"> {};
struct Set {
  BOOST_HANA_DEFINE_STRUCT(Set, (mode, m));
};

struct Lamp {
  static constexpr mesh::fixed_string name = "lamp";
  using capability = lights;
  using messages = mesh::list<Set>;
  explicit Lamp(std::string_view) {}
  void handle(Set const&) {}
};

[[maybe_unused]] constexpr bool checked = mesh::wire::check_serializable<mesh::schema<Lamp>>();

int main() {}
