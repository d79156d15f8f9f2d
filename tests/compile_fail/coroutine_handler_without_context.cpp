// expect: mesh: a coroutine handler (returning mesh::task<R>) must take the context
// culprit: {"relay"}, Get>
// Rule: a coroutine handler takes mesh::context& (it calls other actors through it).
#include <mesh/mesh.hpp>

struct relays : mesh::capability<"relays"> {};
struct Get {};

struct Relay {
  static constexpr mesh::fixed_string name = "relay";
  using capability = relays;
  using messages = mesh::list<Get>;
  explicit Relay(std::string_view) {}
  mesh::task<long> handle(Get const&) { co_return 1; }
};

[[maybe_unused]] constexpr bool checked = mesh::is_valid_actor_v<Relay>;

int main() {}
