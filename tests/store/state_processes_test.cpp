// System tests: actors with `state` in member processes sharing a store (one SQLite file, or one
// redis-server); an owner is SIGKILLed while this process deposits, and no acknowledged deposit
// may be lost. This process joins as an observer node that hosts nothing (its calls are remote).
#include "bank.hpp"
#include "temp_dir.hpp"
#ifdef MESH_TEST_HAVE_REDIS
#include "redis_server.hpp"
#endif

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MESH_STATE_MEMBER_PATH
#error "MESH_STATE_MEMBER_PATH must name the mesh_state_member binary"
#endif

extern char** environ;

namespace {

using namespace std::chrono_literals;

/// One mesh_state_member child; SIGKILLed and reaped by the destructor if still running.
class member {
 public:
  member(std::string name, std::string store, std::string seed = {}) : name_(std::move(name)) {
    std::vector<std::string> args{MESH_STATE_MEMBER_PATH, "--name", name_, "--store", std::move(store)};
    if (!seed.empty()) args.insert(args.end(), {"--seed", seed});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    int const rc = posix_spawn(&pid_, MESH_STATE_MEMBER_PATH, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("posix_spawn " MESH_STATE_MEMBER_PATH " failed");
    }
    endpoint_ = read_endpoint();
  }
  member(member const&) = delete;
  member& operator=(member const&) = delete;
  ~member() {
    kill_now();
    if (out_ >= 0) close(out_);
  }
  std::string const& endpoint() const { return endpoint_; }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string read_endpoint() {
    std::string line;
    auto const until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_, &c, 1) != 1) break;
      if (c == '\n') {
        if (line.rfind("ENDPOINT ", 0) == 0) return line.substr(9);
        line.clear();
      } else {
        line += c;
      }
    }
    throw std::runtime_error("member " + name_ + " printed no endpoint");
  }
  std::string name_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string endpoint_;
};

template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds timeout) {
  auto const until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// Members "a" and "b" share `store`; this process deposits into 200 accounts round after round,
/// SIGKILLs "b" in the middle of a round, goes on until the cluster dropped "b" and one more full
/// round succeeded, then reads every balance. A deposit that failed may or may not have been saved
/// (its acknowledgement is what got lost), so a balance must lie between the last acknowledged one
/// and that plus the failed deposits; an acknowledged deposit is never lost.
void kill_owner_while_depositing(std::string const& store) {
  member a("a", store);
  member b("b", store, a.endpoint());
  mesh::node_config c;
  c.name = "observer";
  c.listen = "tcp://127.0.0.1:*";
  c.seeds = {a.endpoint()};
  c.insecure = true;
  c.heartbeat_interval = 50ms;
  c.failure_timeout = 1000ms;
  c.call_timeout = 1000ms;
  c.workers = 2;
  c.logger = [](std::string_view) {};
  mesh::node<bank::schema> obs{c};
  REQUIRE(wait_until([&] { return obs.nodes_for<bank::accounts>() == std::vector<std::string>{"a", "b"}; }, 10s));

  constexpr int ids = 200;
  auto id_of = [](int i) { return "acct-" + std::to_string(i); };
  int owned_by_b = 0;
  for (int i = 0; i < ids; ++i)
    if (obs.owner_node(mesh::shard_for(id_of(i)), "accounts").value_or("") == "b") ++owned_by_b;
  REQUIRE(owned_by_b > 0);

  std::vector<long> acked(ids, 0), in_doubt(ids, 0);
  long failed = 0;
  auto deposit = [&](int i, long n) {
    auto r = obs.call<bank::Account>(id_of(i), bank::Deposit{n});
    if (r) {
      CHECK(r->value >= acked[static_cast<std::size_t>(i)] + n);
      acked[static_cast<std::size_t>(i)] = r->value;
      return true;
    }
    in_doubt[static_cast<std::size_t>(i)] += n;
    ++failed;
    return false;
  };
  for (int i = 0; i < ids; ++i) deposit(i, 1);  // round 1: every account exists on its owner
  bool b_dropped = false, clean_round_after_drop = false;
  for (int round = 2; round < 60 && !clean_round_after_drop; ++round) {
    bool all_ok = true;
    for (int i = 0; i < ids; ++i) {
      if (round == 2 && i == ids / 2) b.kill_now();  // mid-round, while deposits flow
      all_ok = deposit(i, round) && all_ok;
    }
    if (b_dropped && all_ok) clean_round_after_drop = true;
    if (!b_dropped) b_dropped = obs.nodes_for<bank::accounts>() == std::vector<std::string>{"a"};
  }
  REQUIRE(b_dropped);
  REQUIRE(clean_round_after_drop);

  int intact = 0, exact = 0;
  for (int i = 0; i < ids; ++i) {
    auto bal = obs.call<bank::Account>(id_of(i), bank::Balance{});
    REQUIRE(bal);
    auto const k = static_cast<std::size_t>(i);
    if (bal->value >= acked[k] && bal->value <= acked[k] + in_doubt[k]) ++intact;
    if (bal->value == acked[k]) ++exact;
  }
  MESSAGE("ids owned by b: " << owned_by_b << ", failed deposits around the kill: " << failed
                             << ", balances equal to the last acknowledged one: " << exact << "/" << ids);
  CHECK(intact == ids);
}

}  // namespace

TEST_CASE("accounts in a SQLite file shared by the members keep every acknowledged deposit when an owner is SIGKILLed") {
  temp_dir dir;
  kill_owner_while_depositing("sqlite:" + dir.file("state.db"));
}

#ifdef MESH_TEST_HAVE_REDIS
TEST_CASE("accounts in redis keep every acknowledged deposit when an owner is SIGKILLed") {
  redis_server server;
  if (!server.available()) {
    MESSAGE(redis_server::skip_reason());
    return;
  }
  kill_owner_while_depositing("redis:" + server.url());
}
#endif
