// An actor with durable `state` in the embedded SQLite store (README, docs/state.md): the balance
// survives the node, and a rejected withdrawal changes nothing.
#include <mesh/mesh.hpp>
#include <mesh/store/sqlite.hpp>

#include <cstdio>
#include <filesystem>

struct bank : mesh::capability<"bank"> {};
struct Deposit { BOOST_HANA_DEFINE_STRUCT(Deposit, (long, n)); };
struct Withdraw { BOOST_HANA_DEFINE_STRUCT(Withdraw, (long, n)); };
struct Balance {};

struct Account {
  static constexpr mesh::fixed_string name = "account";
  using capability = bank;
  using messages = mesh::list<Deposit, Withdraw, Balance>;
  struct data { BOOST_HANA_DEFINE_STRUCT(data, (long, balance)); };
  data state{};  // loaded before the first message, saved after each handler that returns
  explicit Account(std::string_view) {}
  long handle(Deposit const& d) { return state.balance += d.n; }
  long handle(Withdraw const& w) {
    if (w.n > state.balance) throw mesh::rejected{"insufficient funds"};  // nothing saved
    return state.balance -= w.n;
  }
  long handle(Balance const&) { return state.balance; }
};
using app = mesh::schema<Account>;

int main() {
  auto const file = std::filesystem::temp_directory_path() / "mesh_durable_account.db";
  std::filesystem::remove(file);
  mesh::node_config cfg;
  cfg.store = mesh::stores::sqlite(file.string());
  {
    mesh::node<app> n{cfg};
    n.register_capabilities<bank>();
    (void)n.call<Account>("alice", Deposit{110});
    auto r = n.call<Account>("alice", Withdraw{500});
    std::printf("withdraw 500: %s\n", r ? "ok" : r.error().message.c_str());
  }  // the node is gone; the balance is in the file
  mesh::node<app> again{cfg};
  again.register_capabilities<bank>();
  long const balance = again.call<Account>("alice", Balance{})->value;
  std::printf("balance after restart: %ld\n", balance);
  std::filesystem::remove(file);
  return balance == 110 ? 0 : 1;
}
