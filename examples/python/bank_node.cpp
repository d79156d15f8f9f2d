// A mesh node process for clients in other languages (examples/python/mesh_client.py talks to
// it). Configured from the environment (mesh::node_config::from_env: MESH_NAME, MESH_LISTEN,
// MESH_ADVERTISE, MESH_SEEDS, MESH_CLUSTER_SECRET); prints "ready <endpoint>" once it listens
// and stops when its standard input closes (or after MESH_EXAMPLE_LIFETIME_S seconds, 120 by
// default, so a crashed client cannot leave it behind).
#include <mesh/mesh.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace bank {

struct accounts : mesh::capability<"accounts"> {};

struct Deposit {
  BOOST_HANA_DEFINE_STRUCT(Deposit, (long, amount));
};
struct Withdraw {
  BOOST_HANA_DEFINE_STRUCT(Withdraw, (long, amount));
};
struct Balance {};
struct Close {};
struct Statement {
  BOOST_HANA_DEFINE_STRUCT(Statement, (std::string, owner), (long, balance), (std::vector<long>, history));
};

struct Account {
  static constexpr mesh::fixed_string name = "account";
  using capability = accounts;
  using messages = mesh::list<Deposit, Withdraw, Balance, Close, Statement>;

  explicit Account(std::string_view id) : owner(id) {}
  long handle(Deposit const& d) {
    history.push_back(d.amount);
    return balance += d.amount;
  }
  long handle(Withdraw const& w) {
    if (w.amount > balance) throw mesh::rejected{"insufficient funds"};
    history.push_back(-w.amount);
    return balance -= w.amount;
  }
  long handle(Balance const&) { return balance; }
  void handle(Close const&) { history.clear(); }
  Statement handle(Statement const&) { return {owner, balance, history}; }

  std::string owner;
  long balance = 0;
  std::vector<long> history;
};

using schema = mesh::schema<Account>;

}  // namespace bank

int main() {
  auto cfg = mesh::node_config::from_env();
  if (cfg.name.empty()) cfg.name = "bank";
  if (cfg.listen.empty()) cfg.listen = "tcp://127.0.0.1:*";
  mesh::node<bank::schema> n{cfg};
  n.register_capabilities<bank::accounts>();
  std::cout << "ready " << n.endpoint() << " fingerprint " << mesh::wire::fingerprint_v<bank::schema> << std::endl;

  long lifetime = 120;
  if (char const* v = std::getenv("MESH_EXAMPLE_LIFETIME_S")) lifetime = std::atol(v);
  std::thread([lifetime] {
    std::this_thread::sleep_for(std::chrono::seconds(lifetime));
    std::cerr << "bank_node: lifetime over\n";
    std::_Exit(1);
  }).detach();
  std::string line;
  while (std::getline(std::cin, line)) {
  }
}
