#pragma once
// The schema of the store tests: an account with a durable `state` and a stateless counter.
#include <mesh/mesh.hpp>

#include <stdexcept>
#include <string_view>

namespace bank {

struct accounts : mesh::capability<"accounts"> {};

struct Deposit {
  BOOST_HANA_DEFINE_STRUCT(Deposit, (long, n));
};
struct Withdraw {
  BOOST_HANA_DEFINE_STRUCT(Withdraw, (long, n));
};
struct Balance {};
/// Changes the balance, then throws something other than mesh::rejected.
struct Crash {};

struct Account {
  static constexpr mesh::fixed_string name = "account";
  using capability = accounts;
  using messages = mesh::list<Deposit, Withdraw, Balance, Crash>;
  struct data {
    BOOST_HANA_DEFINE_STRUCT(data, (long, balance), (long, operations));
  };
  data state{};
  explicit Account(std::string_view) {}
  long handle(Deposit const& d) {
    ++state.operations;
    return state.balance += d.n;
  }
  long handle(Withdraw const& w) {
    if (w.n > state.balance) throw mesh::rejected{"insufficient funds"};  // before changing anything
    ++state.operations;
    return state.balance -= w.n;
  }
  long handle(Balance const&) { return state.balance; }
  long handle(Crash const&) {
    state.balance += 1000000;
    throw std::runtime_error("crashed after changing the balance");
  }
};

/// No `state`: never touches the store.
struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = accounts;
  using messages = mesh::list<Deposit>;
  long value = 0;
  long handle(Deposit const& d) { return value += d.n; }
};

using schema = mesh::schema<Account, Counter>;

}  // namespace bank
