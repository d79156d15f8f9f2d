// expect: mesh: handle() returns a type that is not serializable
// culprit: {"relay"}, Get, long int*>
// Rule: the R of a coroutine handler's mesh::task<R> is the reply: void or serializable.
#include <mesh/mesh.hpp>

struct relays : mesh::capability<"relays"> {};
struct Get {};

struct Relay {
  static constexpr mesh::fixed_string name = "relay";
  using capability = relays;
  using messages = mesh::list<Get>;
  explicit Relay(std::string_view) {}
  mesh::task<long*> handle(Get const&, mesh::context&) { co_return &value; }
  long value = 0;
};

[[maybe_unused]] constexpr bool checked = mesh::wire::check_actor_serializable<Relay>();

int main() {}
