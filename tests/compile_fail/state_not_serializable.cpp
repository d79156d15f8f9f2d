// expect: mesh: actor's `state` member is not serializable
// culprit: {"account"}, Account::data>
// Rule: an actor's `state` member is stored and handed off as msgpack, so it must be serializable.
#include <mesh/mesh.hpp>

struct bank : mesh::capability<"bank"> {};
struct Balance {};

struct Account {
  static constexpr mesh::fixed_string name = "account";
  using capability = bank;
  using messages = mesh::list<Balance>;
  struct data {  // not reflected
    long balance = 0;
    char const* owner = nullptr;
  };
  data state{};
  explicit Account(std::string_view) {}
  long handle(Balance const&) { return state.balance; }
};

int main() {
  mesh::node<mesh::schema<Account>> n{mesh::node_config{}};
  (void)n;
}
