// System tests: a cluster of real member processes (mesh_test_node) on loopback TCP with ephemeral
// ports. Members "a", "b", "c" host game, chat and relay; "a" is the seed. The test process joins
// as a fourth member, "observer", that hosts no capability: it calls, watches its own view, and
// reads every member's view through that member's relay actor (app::View, app::Route).
// Children are always killed and reaped when a case ends, pass or fail (member_process's
// destructor), and die on their own if this process dies (PR_SET_PDEATHSIG in mesh_test_node).
#include "app_schema.hpp"
#include "cluster_keys.hpp"

#include <doctest/doctest.h>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MESH_TEST_NODE_PATH
#error "MESH_TEST_NODE_PATH must name the mesh_test_node binary"
#endif

extern char** environ;

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

long elapsed_ms(steady::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(steady::now() - since).count());
}

/// Polls `pred` every 10 ms until it holds or `timeout` passes; the elapsed time when it held.
template <class Pred>
std::optional<long> wait_until(Pred&& pred, milliseconds timeout) {
  auto const start = steady::now();
  auto const until = start + timeout;
  while (true) {
    if (pred()) return elapsed_ms(start);
    if (steady::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

// ---- member processes --------------------------------------------------------------------------

struct member_options {
  std::string name;
  std::vector<std::string> seeds;
  std::string caps = "game,chat,relay";
  bool alt_schema = false;
  long heartbeat_ms = 50;
  long failure_timeout_ms = 1000;
  std::string listen = "tcp://127.0.0.1:*";
  std::vector<std::string> extra{};  // more mesh_test_node arguments
};

member_options member(std::string name, std::vector<std::string> seeds, long failure_timeout_ms) {
  member_options o;
  o.name = std::move(name);
  o.seeds = std::move(seeds);
  o.failure_timeout_ms = failure_timeout_ms;
  return o;
}

/// One mesh_test_node child. The destructor SIGKILLs and reaps it if it is still running.
class member_process {
 public:
  explicit member_process(member_options o) : opts_(std::move(o)) {
    std::vector<std::string> args{MESH_TEST_NODE_PATH, "--name", opts_.name, "--listen", opts_.listen,
                                  "--heartbeat-ms", std::to_string(opts_.heartbeat_ms),
                                  "--failure-timeout-ms", std::to_string(opts_.failure_timeout_ms),
                                  "--max-lifetime-s", "120"};
    for (auto const& s : opts_.seeds) args.insert(args.end(), {"--seed", s});
    if (!opts_.caps.empty()) args.insert(args.end(), {"--caps", opts_.caps});
    if (opts_.alt_schema) args.emplace_back("--alt-schema");
    args.insert(args.end(), opts_.extra.begin(), opts_.extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
    int const rc = posix_spawn(&pid_, MESH_TEST_NODE_PATH, &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("posix_spawn " MESH_TEST_NODE_PATH " failed: " + std::string(std::strerror(rc)));
    }
    endpoint_ = read_endpoint(10s);
  }
  member_process(member_process const&) = delete;
  member_process& operator=(member_process const&) = delete;
  ~member_process() {
    kill_now();
    if (out_ >= 0) close(out_);
  }

  std::string const& name() const { return opts_.name; }
  std::string const& endpoint() const { return endpoint_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  /// Waits for the process to exit; its wait status, or nullopt on timeout.
  std::optional<int> wait_exit(milliseconds timeout) {
    if (pid_ <= 0) return exit_status_;
    auto const until = steady::now() + timeout;
    while (true) {
      int st = 0;
      pid_t const r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) {
        pid_ = -1;
        exit_status_ = st;
        return st;
      }
      if (steady::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
  }
  /// True while the process has not exited (reaps it when it has).
  bool alive() {
    if (pid_ <= 0) return false;
    return !wait_exit(0ms).has_value();
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    exit_status_ = st;
  }

 private:
  std::string read_endpoint(milliseconds timeout) {
    std::string line;
    auto const until = steady::now() + timeout;
    while (true) {
      auto const left = std::chrono::duration_cast<milliseconds>(until - steady::now()).count();
      if (left <= 0) throw std::runtime_error("member '" + opts_.name + "' printed no endpoint in time");
      pollfd p{out_, POLLIN, 0};
      int const r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char ch = 0;
      ssize_t const n = ::read(out_, &ch, 1);
      if (n <= 0) throw std::runtime_error("member '" + opts_.name + "' exited before printing its endpoint");
      if (ch == '\n') break;
      line.push_back(ch);
    }
    std::string const prefix = "ENDPOINT ";
    if (line.rfind(prefix, 0) != 0) throw std::runtime_error("member '" + opts_.name + "' printed '" + line + "'");
    return line.substr(prefix.size());
  }

  member_options opts_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string endpoint_;
  std::optional<int> exit_status_;
};

// ---- the observer: an in-process member of the same cluster -------------------------------------

struct log_sink {
  std::mutex m;
  std::vector<std::string> lines;
  bool contains_all(std::vector<std::string> const& words) {
    std::lock_guard lk(m);
    for (auto const& l : lines) {
      bool all = true;
      for (auto const& w : words) all = all && l.find(w) != std::string::npos;
      if (all) return true;
    }
    return false;
  }
};

using app_node = mesh::node<app::schema>;

std::unique_ptr<app_node> make_observer(std::string const& seed, long failure_timeout_ms,
                                        std::shared_ptr<log_sink> sink = std::make_shared<log_sink>()) {
  mesh::node_config cfg;
  cfg.name = "observer";
  cfg.listen = "tcp://127.0.0.1:*";
  cfg.seeds = {seed};
  cfg.heartbeat_interval = 50ms;
  cfg.failure_timeout = milliseconds(failure_timeout_ms);
  cfg.call_timeout = 2000ms;
  cfg.workers = 2;
  cfg.logger = [sink](std::string_view l) {
    std::lock_guard lk(sink->m);
    sink->lines.emplace_back(l);
  };
  return std::make_unique<app_node>(std::move(cfg));
}

/// The three standard members: "a" (the seed), then "b" and "c" joining through it.
struct trio {
  std::vector<std::unique_ptr<member_process>> m;
  explicit trio(long failure_timeout_ms) {
    m.push_back(std::make_unique<member_process>(member("a", {}, failure_timeout_ms)));
    for (std::string n : {"b", "c"}) {
      m.push_back(std::make_unique<member_process>(member(n, {m[0]->endpoint()}, failure_timeout_ms)));
    }
  }
  member_process& operator[](std::size_t i) { return *m.at(i); }
};

/// An id whose relay activation lives on `member` in `n`'s view ("" if none found).
std::string relay_id_on(app_node& n, std::string const& member) {
  for (int i = 0; i < 100000; ++i) {
    std::string id = "relay-" + std::to_string(i);
    auto o = n.owner_node(n.shard_for(id), "relay");
    if (!o) return {};
    if (*o == member) return id;
  }
  return {};
}

/// `member`'s own view of the cluster, read through its relay actor.
std::optional<app::ViewReply> view_of(app_node& n, std::string const& member) {
  auto const id = relay_id_on(n, member);
  if (id.empty()) return std::nullopt;
  auto r = n.call<app::Relay>(id, app::View{}, 1000ms);
  if (!r || r->value.node != member) return std::nullopt;
  return r->value;
}

using names = std::vector<std::string>;

/// True when the observer and every listed member see exactly `members` and, for each
/// capability in `caps`, exactly `hosts`.
bool views_agree(app_node& obs, names const& children, names const& members, names const& hosts,
                 names const& caps = {"chat", "game", "relay"}) {
  if (obs.cluster_members() != members) return false;
  if (obs.all_capabilities() != caps) return false;
  for (auto const& c : caps)
    if (obs.nodes_for(c) != hosts) return false;
  for (auto const& child : children) {
    auto v = view_of(obs, child);
    if (!v || v->members != members || v->capabilities != caps) return false;
    for (auto const& c : caps)
      if (v->nodes_by_capability[c] != hosts) return false;
  }
  return true;
}

/// Calls `count` counters from the observer and checks each reply comes from owner_node.
void check_routing_from_observer(app_node& obs, int count, std::string const& prefix) {
  int mismatches = 0, failures = 0;
  for (int i = 0; i < count; ++i) {
    std::string const id = prefix + std::to_string(i);
    auto const owner = obs.owner_node(obs.shard_for(id), "game");
    REQUIRE(owner);
    auto r = obs.call<app::Counter>(id, app::Whoami{});
    if (!r) {
      ++failures;
      MESSAGE("call to counter '" << id << "' failed: " << r.error());
      continue;
    }
    if (r->ref.node != *owner || r->value != *owner) ++mismatches;
  }
  CHECK(failures == 0);
  CHECK(mismatches == 0);
}

/// Has member `via` call `count` counters with its own routing; each reply must come from the
/// owner it computes, which must be the observer's owner too.
void check_routing_on_member(app_node& obs, std::string const& via, int count, std::string const& prefix) {
  auto const relay_id = relay_id_on(obs, via);
  REQUIRE(!relay_id.empty());
  int bad = 0;
  for (int i = 0; i < count; ++i) {
    std::string const id = prefix + std::to_string(i);
    auto const owner = obs.owner_node(obs.shard_for(id), "game");
    REQUIRE(owner);
    auto r = obs.call<app::Relay>(relay_id, app::Route{id});
    REQUIRE_MESSAGE(r, "relay on '" << via << "': " << r.error());
    auto const& v = r->value;
    if (v.via != via || v.error_code != 0 || v.expected_owner != *owner || v.replied_by != *owner) {
      ++bad;
      MESSAGE("on '" << v.via << "', counter '" << id << "': expected " << *owner << ", member computed '"
                     << v.expected_owner << "', replied by '" << v.replied_by << "', error " << v.error_code << " "
                     << v.error_text);
    }
  }
  CHECK(bad == 0);
}

int errc_of(mesh::errc c) { return static_cast<int>(c); }

}  // namespace

TEST_SUITE_BEGIN("system");

TEST_CASE("three member processes form a cluster through one seed and every member sees every capability" *
          doctest::timeout(60)) {
  auto const t0 = steady::now();
  trio t(2000);
  auto obs = make_observer(t[0].endpoint(), 2000);
  names const members{"a", "b", "c", "observer"}, hosts{"a", "b", "c"};
  auto const formed = wait_until([&] { return views_agree(*obs, {"a", "b", "c"}, members, hosts); }, 5000ms);
  REQUIRE_MESSAGE(formed, "members did not converge within 5 s");
  MESSAGE("4 members and 3 capabilities visible on every member " << *formed << " ms after the observer started ("
                                                                  << elapsed_ms(t0) << " ms after the first spawn)");

  // A capability registered at run time reaches every member within the same bound.
  auto const t1 = steady::now();
  obs->register_capabilities({"chat"});
  auto const spread = wait_until(
      [&] {
        for (auto const& m : hosts) {
          auto v = view_of(*obs, m);
          if (!v || v->nodes_by_capability["chat"] != names{"a", "b", "c", "observer"}) return false;
        }
        return true;
      },
      5000ms);
  REQUIRE_MESSAGE(spread, "'chat' on observer not visible on every member within 5 s");
  MESSAGE("capability registered on observer visible on every member after " << elapsed_ms(t1) << " ms");
  CHECK(obs->nodes_for<app::chat>() == names{"a", "b", "c", "observer"});
  CHECK(obs->nodes_for("game") == hosts);
  CHECK(obs->all_capabilities() == names{"chat", "game", "relay"});
}

TEST_CASE("routing on every member process agrees with owner_node" * doctest::timeout(60)) {
  trio t(2000);
  auto obs = make_observer(t[0].endpoint(), 2000);
  names const members{"a", "b", "c", "observer"}, hosts{"a", "b", "c"};
  REQUIRE(wait_until([&] { return views_agree(*obs, {"a", "b", "c"}, members, hosts); }, 5000ms));

  check_routing_from_observer(*obs, 300, "player-");
  for (auto const& m : hosts) check_routing_on_member(*obs, m, 60, "route-" + m + "-");

  // Another actor type with another capability routes the same way, and keeps its state there.
  for (int i = 0; i < 30; ++i) {
    std::string const room = "room-" + std::to_string(i);
    auto const owner = obs->owner_node(obs->shard_for(room), "chat");
    REQUIRE(owner);
    auto p1 = obs->call<app::ChatRoom>(room, app::Post{"ann", "hi"});
    auto p2 = obs->call<app::ChatRoom>(room, app::Post{"bob", "hello"});
    auto h = obs->call<app::ChatRoom>(room, app::History{});
    REQUIRE(p1);
    REQUIRE(p2);
    REQUIRE(h);
    CHECK(p1->ref.node == *owner);
    CHECK(p2->value == 2u);
    CHECK(h->value == names{"ann: hi", "bob: hello"});
  }
}

TEST_CASE("a member process killed with SIGKILL under load fails its callers without hanging and is replaced" *
          doctest::timeout(60)) {
  long const failure_timeout = 1000;
  long const call_timeout = 500;
  trio t(failure_timeout);
  auto obs = make_observer(t[0].endpoint(), failure_timeout);
  names const hosts{"a", "b", "c"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, {"a", "b", "c", "observer"}, hosts); }, 5000ms));

  std::atomic<bool> stop{false};
  std::mutex m;
  std::map<int, int> outcomes;  // errc -> count (0: success)
  long max_latency = 0;
  int calls = 0;
  auto load = [&](unsigned seed) {
    std::mt19937 rng(seed);
    while (!stop.load()) {
      std::string const id = "load-" + std::to_string(rng() % 400);
      auto const t_call = steady::now();
      auto r = obs->call<app::Counter>(id, app::Add{1}, milliseconds(call_timeout));
      long const lat = elapsed_ms(t_call);
      std::lock_guard lk(m);
      ++calls;
      max_latency = std::max(max_latency, lat);
      ++outcomes[r ? 0 : errc_of(r.error().code)];
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < 3; ++i) threads.emplace_back(load, 17u + i);

  std::this_thread::sleep_for(300ms);
  t[1].signal(SIGKILL);
  auto const killed = steady::now();
  auto const gone = wait_until([&] { return obs->nodes_for("game") == names{"a", "c"}; }, milliseconds(failure_timeout + 4000));
  long const gone_ms = elapsed_ms(killed);
  bool const others_dropped = wait_until(
      [&] { return views_agree(*obs, {"a", "c"}, {"a", "c", "observer"}, {"a", "c"}); },
      milliseconds(failure_timeout + 4000)).has_value();
  long const all_gone_ms = elapsed_ms(killed);
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& th : threads) th.join();
  CHECK(t[1].wait_exit(1000ms).has_value());

  std::string summary;
  for (auto const& [code, n] : outcomes)
    summary += std::string(code == 0 ? "ok" : mesh::to_string(static_cast<mesh::errc>(code))) + "=" + std::to_string(n) + " ";
  MESSAGE(calls << " calls under load: " << summary << "; slowest " << max_latency << " ms");
  MESSAGE("killed member left observer's nodes_for after " << gone_ms << " ms, every member's view after "
                                                           << all_gone_ms << " ms (failure_timeout " << failure_timeout
                                                           << " ms)");
  REQUIRE(gone);
  CHECK(gone_ms < failure_timeout + 1500);
  REQUIRE(others_dropped);
  CHECK(all_gone_ms < failure_timeout + 2500);
  CHECK(max_latency < call_timeout + 1000);  // nobody hangs
  CHECK(outcomes[0] > 0);
  int errors = 0;
  for (auto const& outcome : outcomes) {
    // Not a structured binding: CHECK_MESSAGE captures `code` in a lambda, which clang 14 refuses for one.
    int const code = outcome.first, n = outcome.second;
    if (code == 0) continue;
    errors += n;
    bool const expected = code == errc_of(mesh::errc::timeout) || code == errc_of(mesh::errc::node_unreachable) ||
                          code == errc_of(mesh::errc::rebalancing) || code == errc_of(mesh::errc::overloaded);
    CHECK_MESSAGE(expected, "unexpected error code " << mesh::to_string(static_cast<mesh::errc>(code)));
  }
  CHECK(errors > 0);  // calls to the dead member did fail

  // Afterwards every call succeeds, rerouted to the survivors.
  check_routing_from_observer(*obs, 200, "after-kill-");
  for (auto const& s : {"a", "c"}) check_routing_on_member(*obs, s, 30, std::string("after-kill-") + s + "-");
}

TEST_CASE("a member process stopped with SIGTERM leaves at once, long before failure_timeout, and rejoins" *
          doctest::timeout(60)) {
  long const failure_timeout = 10000;  // a leave detected by silence would take 10 s
  trio t(failure_timeout);
  auto obs = make_observer(t[0].endpoint(), failure_timeout);
  names const hosts{"a", "b", "c"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, {"a", "b", "c", "observer"}, hosts); }, 5000ms));

  t[1].signal(SIGTERM);
  auto const stopped = steady::now();
  auto const gone = wait_until([&] { return obs->nodes_for("game") == names{"a", "c"}; }, 5000ms);
  auto const everywhere =
      wait_until([&] { return views_agree(*obs, {"a", "c"}, {"a", "c", "observer"}, {"a", "c"}); }, 5000ms);
  long const everywhere_ms = elapsed_ms(stopped);
  REQUIRE_MESSAGE(gone, "the stopped member is still in nodes_for 5 s after SIGTERM");
  MESSAGE("member left observer's nodes_for " << *gone << " ms after SIGTERM, every view after " << everywhere_ms << " ms");
  CHECK(*gone < 1500);
  CHECK(everywhere);
  CHECK(everywhere_ms < 2000);
  auto const status = t[1].wait_exit(5000ms);
  REQUIRE_MESSAGE(status, "the member did not exit after SIGTERM");
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  check_routing_from_observer(*obs, 100, "after-leave-");

  // The same name comes back (new process, new port) and serves its share again.
  auto const restarted = steady::now();
  t.m[1] = std::make_unique<member_process>(member("b", {t[0].endpoint()}, failure_timeout));
  auto const back = wait_until([&] { return views_agree(*obs, hosts, {"a", "b", "c", "observer"}, hosts); }, 5000ms);
  REQUIRE_MESSAGE(back, "the restarted member did not rejoin within 5 s");
  MESSAGE("restarted member visible on every member after " << elapsed_ms(restarted) << " ms");
  check_routing_from_observer(*obs, 200, "after-rejoin-");
  for (auto const& m : hosts) check_routing_on_member(*obs, m, 30, "after-rejoin-" + m + "-");
}

TEST_CASE("a member process restarted on its endpoint right after SIGKILL is taken as its new incarnation at once" *
          doctest::timeout(60)) {
  long const failure_timeout = 3000;  // the old incarnation would need this long to be declared dead
  trio t(failure_timeout);
  auto sink = std::make_shared<log_sink>();
  auto obs = make_observer(t[0].endpoint(), failure_timeout, sink);
  names const hosts{"a", "b", "c"}, members{"a", "b", "c", "observer"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, members, hosts); }, 5000ms));
  // Activations on b: they die with it.
  for (int i = 0; i < 50; ++i) (void)obs->call<app::Counter>("before-" + std::to_string(i), app::Add{1});

  // Traffic to b's endpoint keeps flowing across the restart.
  std::vector<std::string> b_ids;
  for (int i = 0; b_ids.size() < 20; ++i)
    if (*obs->owner_node(obs->shard_for("busy-" + std::to_string(i)), "game") == "b") b_ids.push_back("busy-" + std::to_string(i));
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    for (std::size_t i = 0; !stop.load(); ++i) (void)obs->call<app::Counter>(b_ids[i % b_ids.size()], app::Whoami{}, 300ms);
  });

  std::string const ep = t[1].endpoint();
  t[1].kill_now();
  auto const restarted = steady::now();
  auto again = member("b", {t[0].endpoint()}, failure_timeout);
  again.listen = ep;
  t.m[1] = std::make_unique<member_process>(again);
  CHECK(t[1].endpoint() == ep);

  // Same name, same endpoint, new incarnation: a restart, not a duplicate; no need to wait for
  // the old one's failure_timeout.
  auto const replaced = wait_until([&] { return sink->contains_all({"member 'b' restarted"}); }, milliseconds(failure_timeout));
  auto const back = wait_until(
      [&] {
        if (!views_agree(*obs, hosts, members, hosts)) return false;
        auto v = view_of(*obs, "b");
        return v && v->members == members;
      },
      5000ms);
  stop = true;
  traffic.join();
  REQUIRE_MESSAGE(replaced, "the observer did not take the restarted 'b' as its new incarnation");
  MESSAGE("observer replaced b's incarnation " << *replaced << " ms after the restart");
  REQUIRE_MESSAGE(back, "the restarted member did not rejoin");
  MESSAGE("restarted member rejoined (complete views everywhere) after " << elapsed_ms(restarted) << " ms");
  CHECK(elapsed_ms(restarted) < failure_timeout);
  REQUIRE(wait_until(
      [&] {
        for (int i = 0; i < 50; ++i) {
          std::string const id = "settle-" + std::to_string(i);
          auto r = obs->call<app::Counter>(id, app::Whoami{}, 1000ms);
          if (!r || r->ref.node != *obs->owner_node(obs->shard_for(id), "game")) return false;
        }
        return true;
      },
      5000ms));
  check_routing_from_observer(*obs, 200, "after-restart-");
  for (auto const& m : hosts) check_routing_on_member(*obs, m, 30, "after-restart-" + m + "-");
  // The new incarnation starts fresh: a counter that lived on the old b starts from 0 again.
  for (int i = 0; i < 50; ++i) {
    std::string const id = "before-" + std::to_string(i);
    if (*obs->owner_node(obs->shard_for(id), "game") != "b") continue;
    auto r = obs->call<app::Counter>(id, app::Get{});
    REQUIRE(r);
    CHECK(r->value == 0);
    CHECK(r->ref.node == "b");
    break;
  }
  // Every member knows the new incarnation: its graceful leave is honoured at once everywhere.
  t[1].signal(SIGTERM);
  auto const left = wait_until([&] { return views_agree(*obs, {"a", "c"}, {"a", "c", "observer"}, {"a", "c"}); }, 5000ms);
  REQUIRE(left);
  MESSAGE("the new incarnation's leave reached every member after " << *left << " ms");
  CHECK(*left < 1000);
}

TEST_CASE("a member process built from another schema is refused and owns no shard" *
          doctest::timeout(60)) {
  trio t(2000);
  auto sink = std::make_shared<log_sink>();
  auto obs = make_observer(t[0].endpoint(), 2000, sink);
  names const hosts{"a", "b", "c"}, members{"a", "b", "c", "observer"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, members, hosts); }, 5000ms));

  // "x" contacts every member; each refuses it.
  auto alt = member("x", {obs->endpoint(), t[0].endpoint(), t[1].endpoint(), t[2].endpoint()}, 2000);
  alt.alt_schema = true;
  member_process x(alt);
  auto const logged = wait_until([&] { return sink->contains_all({"refused member 'x'", "schema"}); }, 5000ms);
  REQUIRE_MESSAGE(logged, "the observer logged no refusal of 'x'");
  {
    std::lock_guard lk(sink->m);
    for (auto const& l : sink->lines)
      if (l.find("'x'") != std::string::npos) MESSAGE("observer log: " << l);
  }
  CHECK(obs->transport_stats().refused_peers > 0);
  // Every member knows x (the tables agree) but none places it: it owns no shard (docs/fencing.md).
  auto const knows_x = [](std::vector<std::string> const& v) { return std::find(v.begin(), v.end(), "x") != v.end(); };
  REQUIRE(wait_until(
      [&] {
        for (auto const& m : hosts) {
          auto v = view_of(*obs, m);
          if (!v || !knows_x(v->members) || v->nodes_by_capability["game"] != names{"a", "b", "c"}) return false;
        }
        return knows_x(obs->cluster_members()) && obs->nodes_for("game") == names{"a", "b", "c"};
      },
      5000ms));

  for (int i = 0; i < 200; ++i) {
    std::string const id = "mm-" + std::to_string(i);
    auto const owner = obs->owner_node(obs->shard_for(id), "game");
    REQUIRE(owner);
    CHECK(*owner != "x");
    auto r = obs->call<app::Counter>(id, app::Whoami{});
    REQUIRE_MESSAGE(r, "counter '" << id << "' on '" << *owner << "': " << r.error());
    CHECK(r->ref.node == *owner);
  }
  // The same on the member processes' own routing.
  for (auto const& m : hosts) {
    auto const relay_id = relay_id_on(*obs, m);
    for (int i = 0; i < 40; ++i) {
      auto r = obs->call<app::Relay>(relay_id, app::Route{"mm-" + std::to_string(i)});
      REQUIRE(r);
      CHECK(r->value.error_code == 0);
      CHECK(r->value.replied_by == r->value.expected_owner);
      CHECK(r->value.replied_by != "x");
    }
  }
  CHECK(x.alive());

  // Rebuilt from the right schema and restarted under the same name, x joins and serves.
  x.kill_now();
  member_process fixed(member("x", {t[0].endpoint()}, 2000));
  auto const joined = wait_until(
      [&] {
        for (int i = 0; i < 40; ++i) {
          std::string const id = "mm-" + std::to_string(i);
          auto r = obs->call<app::Counter>(id, app::Whoami{}, 1000ms);
          if (!r || r->ref.node != *obs->owner_node(obs->shard_for(id), "game")) return false;
        }
        return true;
      },
      5000ms);
  CHECK_MESSAGE(joined, "calls still fail after x came back with the right schema");
  CHECK(obs->nodes_for("game") == names{"a", "b", "c", "x"});
  check_routing_from_observer(*obs, 100, "fixed-");
}

TEST_CASE("a member process built from another schema that contacts one member is known as incompatible by all" *
          doctest::timeout(60)) {
  long const failure_timeout = 1000;
  trio t(failure_timeout);
  auto sink = std::make_shared<log_sink>();
  auto obs = make_observer(t[0].endpoint(), failure_timeout, sink);
  names const hosts{"a", "b", "c"}, members{"a", "b", "c", "observer"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, members, hosts); }, 5000ms));

  // x knows only a; the others learn of it by gossip, contact it and get their own refusal, so
  // every member places it the same way (else they would disagree on owners: rebalancing).
  auto alt = member("x", {t[0].endpoint()}, failure_timeout);
  alt.alt_schema = true;
  auto x = std::make_unique<member_process>(alt);
  auto const knows_x = [](std::vector<std::string> const& v) { return std::find(v.begin(), v.end(), "x") != v.end(); };
  auto const known = wait_until(
      [&] {
        if (!knows_x(obs->cluster_members()) || obs->nodes_for("game") != hosts) return false;
        for (auto const& m : hosts) {
          auto v = view_of(*obs, m);
          if (!v || !knows_x(v->members) || v->nodes_by_capability["game"] != hosts) return false;
        }
        return true;
      },
      5000ms);
  REQUIRE_MESSAGE(known, "not every member placed the incompatible node");
  MESSAGE("every member knows x as incompatible after " << *known << " ms");
  CHECK(sink->contains_all({"refused by member 'x'", "schema"}));

  std::map<std::string, int> outcomes;
  for (int i = 0; i < 200; ++i) {
    std::string const id = "one-" + std::to_string(i);
    auto const owner = *obs->owner_node(obs->shard_for(id), "game");
    auto r = obs->call<app::Counter>(id, app::Whoami{});
    ++outcomes[r ? "ok" : std::string(mesh::to_string(r.error().code))];
    CHECK(owner != "x");  // never placed
    CHECK_MESSAGE(r, "counter '" << id << "' on '" << owner << "': " << r.error());
  }
  for (auto const& [k, v] : outcomes) MESSAGE(k << ": " << v);
  CHECK(outcomes["ok"] == 200);

  // When x dies, every member forgets it within failure_timeout (it stopped refusing them).
  x->kill_now();
  auto const killed = steady::now();
  auto const forgotten = wait_until([&] { return views_agree(*obs, hosts, members, hosts); },
                                    milliseconds(failure_timeout + 4000));
  REQUIRE_MESSAGE(forgotten, "the dead incompatible node is still in the capability table");
  MESSAGE("dead incompatible node forgotten everywhere after " << elapsed_ms(killed) << " ms");
  CHECK(elapsed_ms(killed) < failure_timeout + 2500);
  check_routing_from_observer(*obs, 200, "after-x-");
}

TEST_CASE("garbage sent to a member's ROUTER port is counted and dropped without crashing it" * doctest::timeout(60)) {
  trio t(2000);
  auto obs = make_observer(t[0].endpoint(), 2000);
  names const hosts{"a", "b", "c"}, members{"a", "b", "c", "observer"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, members, hosts); }, 5000ms));
  auto const before_a = view_of(*obs, "a");
  REQUIRE(before_a);
  auto const before_obs = obs->transport_stats().bad_frames;

  std::mt19937 rng(1234);
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng() & 0xff);
    return s;
  };

  for (std::string const& target : {t[0].endpoint(), obs->endpoint()}) {
    // 1. Plain TCP: random bytes, and a ZMTP greeting signature followed by junk.
    auto const colon = target.rfind(':');
    int const port = std::stoi(target.substr(colon + 1));
    for (int k = 0; k < 6; ++k) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      REQUIRE(fd >= 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<std::uint16_t>(port));
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
      std::string junk = random_bytes(64 + 512 * static_cast<std::size_t>(k));
      if (k % 2 == 1) junk = std::string("\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00", 12) + junk;
      (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
      std::this_thread::sleep_for(20ms);
      ::close(fd);
    }

    // 2. A ZeroMQ DEALER sending random and almost-valid multipart messages.
    zmq::context_t ctx;
    zmq::socket_t d(ctx, zmq::socket_type::dealer);
    d.set(zmq::sockopt::linger, 2000);
    testing_keys::as_cluster_client(d);  // an insider: the junk gets past authentication
    d.connect(target);
    int sent = 0;
    auto send_parts = [&](std::vector<std::string> const& parts) {
      for (std::size_t i = 0; i < parts.size(); ++i)
        (void)d.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      ++sent;
    };
    for (int k = 0; k < 60; ++k) {
      std::vector<std::string> parts;
      auto const n = 1 + rng() % 4;
      for (unsigned p = 0; p < n; ++p) parts.push_back(random_bytes(rng() % 80));
      send_parts(parts);
    }
    send_parts({""});                                          // one empty part
    send_parts({std::string("\x93\x01\x00\x00", 4)});          // call header with too few fields
    send_parts({std::string("\xdd\xff\xff\xff\xff", 5), "x"}); // array claiming 4G elements
    send_parts({std::string("\x94\x01\x04\x00\x01", 5), std::string("\xc1", 1)});  // heartbeat, invalid body
    send_parts({std::string("\x94\x01\x04\x00\x01", 5), std::string("\x2a", 1)});  // heartbeat, body not a gossip
    send_parts({std::string("\x94\x01\x02\x07\xa1x", 6), std::string("\xc0", 1)}); // a reply sent to a ROUTER
    d.close();
  }

  // Both still alive and serving; both counted what they dropped.
  CHECK(t[0].alive());
  REQUIRE(wait_until([&] { return obs->transport_stats().bad_frames >= before_obs + 50; }, 3000ms));
  REQUIRE(wait_until(
      [&] {
        auto v = view_of(*obs, "a");
        return v && v->bad_frames >= before_a->bad_frames + 50;
      },
      3000ms));
  MESSAGE("observer bad_frames " << before_obs << " -> " << obs->transport_stats().bad_frames << ", a's "
                                 << before_a->bad_frames << " -> " << view_of(*obs, "a")->bad_frames);
  CHECK(views_agree(*obs, hosts, members, hosts));
  check_routing_from_observer(*obs, 100, "after-garbage-");
  check_routing_on_member(*obs, "a", 30, "after-garbage-a-");
}


// ---- memory under a flood, and run-time revocation (docs/security.md) ---------------------------

/// The resident set of process `pid` in MiB (/proc/<pid>/status VmRSS).
long rss_mib(pid_t pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
  std::fclose(f);
  return kib < 0 ? -1 : kib / 1024;
}

/// A mesh_test_flood child: floods `endpoint` until finish() closes its stdin.
class flood_process {
 public:
  flood_process(std::string const& endpoint, std::vector<std::string> extra) {
    std::vector<std::string> args{MESH_TEST_FLOOD_PATH, "--endpoint", endpoint};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int in[2], out[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    int const rc = posix_spawn(&pid_, MESH_TEST_FLOOD_PATH, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = fdopen(out[0], "r");
    REQUIRE(rc == 0);
  }
  flood_process(flood_process const&) = delete;
  flood_process& operator=(flood_process const&) = delete;
  ~flood_process() {
    if (to_ >= 0) close(to_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (from_) std::fclose(from_);
  }
  /// The flood's next line ("FLOODING n k", "RECEIVED n"), empty at EOF.
  std::string line() {
    char buf[128];
    if (!std::fgets(buf, sizeof buf, from_)) return {};
    std::string l(buf);
    if (!l.empty() && l.back() == '\n') l.pop_back();
    return l;
  }
  /// Closes every connection; returns the "RECEIVED n" line.
  std::string finish() {
    close(to_);
    to_ = -1;
    auto l = line();
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    return l;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  std::FILE* from_ = nullptr;
};

/// Floods member process `a` from 2,000 connections (as many as the descriptors allow) while
/// the observer keeps calling; RSS before, at its peak, and once the flood's connections closed.
struct flood_figures {
  long before = 0, peak = 0, after = 0;
  std::string flooding, received;
  int calls = 0, failed = 0;
};
flood_figures flood_node(member_process& a, app_node& obs, std::vector<std::string> extra) {
  flood_figures f;
  f.before = rss_mib(a.pid());
  flood_process fl(a.endpoint(), std::move(extra));
  f.flooding = fl.line();
  auto const until = steady::now() + 5s;
  while (steady::now() < until) {  // a legitimate member keeps calling meanwhile
    auto r = obs.call<app::Counter>("during-flood-" + std::to_string(f.calls % 50), app::Add{1}, 5000ms);
    ++f.calls;
    if (!r) {
      ++f.failed;
      MESSAGE("call during the flood failed: " << r.error());
    }
    f.peak = std::max(f.peak, rss_mib(a.pid()));
    std::this_thread::sleep_for(20ms);
  }
  f.received = fl.finish();
  // Memory goes back once the connections are gone (pruned at a tick, then malloc_trim).
  // (Waits for more than the test asks, to report where it settles.)
  wait_until([&] { return rss_mib(a.pid()) <= f.before + 16; }, 8000ms);
  f.after = rss_mib(a.pid());
  return f;
}

TEST_CASE("a node flooded by 2,000 insider connections that never read keeps serving and gives its memory back" *
          doctest::timeout(60)) {
  member_process a(member("a", {}, 2000));
  auto obs = make_observer(a.endpoint(), 2000);
  REQUIRE(wait_until([&] { return obs->cluster_members() == names{"a", "observer"} && obs->nodes_for("game") == names{"a"}; }, 5000ms));
  REQUIRE(obs->call<app::Counter>("warm-up", app::Add{1}));
  // Each History reply is 16 KiB: 16,000 calls would queue 256 MiB unread without the cap.
  auto const f = flood_node(a, *obs, {"--connections", "2000", "--calls", "8", "--reply-kib", "16"});
  MESSAGE("insider flood: " << f.flooding << "; node RSS before " << f.before << " MiB, peak " << f.peak << " MiB, after "
                            << f.after << " MiB; " << f.calls << " calls during it, " << f.failed << " failed");
  CHECK(f.flooding.rfind("FLOODING ", 0) == 0);
  CHECK(f.failed == 0);
  CHECK(f.calls > 10);
  CHECK(f.after <= f.before + 64);
  CHECK(a.alive());
  auto const v = view_of(*obs, "a");
  REQUIRE(v);
  CHECK(v->members == names{"a", "observer"});
}

TEST_CASE("an outsider's flood of connections gets no reply and leaves the node's memory bounded" * doctest::timeout(60)) {
  member_process a(member("a", {}, 2000));
  auto obs = make_observer(a.endpoint(), 2000);
  REQUIRE(wait_until([&] { return obs->cluster_members() == names{"a", "observer"} && obs->nodes_for("game") == names{"a"}; }, 5000ms));
  auto const f = flood_node(a, *obs, {"--connections", "2000", "--calls", "8", "--outsider"});
  MESSAGE("outsider flood: " << f.flooding << "; node RSS before " << f.before << " MiB, peak " << f.peak << " MiB, after "
                             << f.after << " MiB; " << f.received);
  CHECK(f.received == "RECEIVED 0");
  CHECK(f.failed == 0);
  CHECK(f.peak <= f.before + 128);
  CHECK(f.after <= f.before + 64);
}

TEST_CASE("a member process whose key is revoked at run time is dropped by the others, which keep working" *
          doctest::timeout(60)) {
  auto key = [] { return mesh::transport::keys_from_secret(mesh::generate_cluster_secret()).value(); };
  auto const ka = key(), kb = key(), kc = key();
  auto with_keys = [&](std::string name, std::vector<std::string> seeds, mesh::transport::curve_keys const& own) {
    auto o = member(std::move(name), std::move(seeds), 1000);
    o.extra = {"--node-secret", own.secret_z85, "--authorized-key", ka.public_z85, "--authorized-key", kb.public_z85,
               "--authorized-key", kc.public_z85, "--revoke-on-usr1", kc.public_z85};
    return o;
  };
  member_process a(with_keys("a", {}, ka));
  member_process b(with_keys("b", {a.endpoint()}, kb));
  member_process c(with_keys("c", {a.endpoint()}, kc));
  mesh::node_config cfg;
  cfg.name = "observer";
  cfg.listen = "tcp://127.0.0.1:*";
  cfg.seeds = {a.endpoint()};
  cfg.heartbeat_interval = 50ms;
  cfg.failure_timeout = 1000ms;
  cfg.call_timeout = 2000ms;
  cfg.workers = 2;
  cfg.authorized_keys = {ka.public_z85, kb.public_z85, kc.public_z85};
  cfg.logger = [](std::string_view) {};
  auto obs = std::make_unique<app_node>(cfg);
  names const all{"a", "b", "c"}, members{"a", "b", "c", "observer"};
  REQUIRE(wait_until([&] { return views_agree(*obs, all, members, all); }, 8000ms));

  // Counters that c's own routing sends to a and to b, called through c's relay.
  auto route_from = [&](std::string const& via, std::string const& to) -> std::optional<app::RouteReply> {
    auto const relay = relay_id_on(*obs, via);
    for (int i = 0; i < 1000; ++i) {
      auto const id = "rv-" + to + "-" + std::to_string(i);
      auto const owner = obs->owner_node(obs->shard_for(id), "game");
      if (!owner || *owner != to) continue;
      auto r = obs->call<app::Relay>(relay, app::Route{id}, 4000ms);
      if (!r) return std::nullopt;
      return r->value;
    }
    return std::nullopt;
  };
  auto before = route_from("c", "a");
  REQUIRE(before);
  CHECK(before->error_code == 0);

  a.signal(SIGUSR1);
  b.signal(SIGUSR1);
  std::this_thread::sleep_for(200ms);  // the signals are handled
  // c's calls to a and b fail (dropped unread until c gives up on them), or c already dropped
  // them for their silence. Asked through c's relay: the observer has not revoked c yet.
  for (std::string to : {"a", "b"}) {
    auto const relay = relay_id_on(*obs, "c");
    bool failed = false;
    for (int i = 0; i < 2000 && !failed; ++i) {
      auto r = obs->call<app::Relay>(relay, app::Route{"rv2-" + to + "-" + std::to_string(i)}, 8000ms);
      if (!r) {  // cut off from the majority, c fences itself (partition_mode::keep_majority)
        CHECK_MESSAGE(r.error().code == mesh::errc::no_quorum, r.error());
        failed = true;
        break;
      }
      if (r->value.expected_owner == to) failed = r->value.error_code != 0;
      else {
        auto v = view_of(*obs, "c");
        failed = v && std::find(v->members.begin(), v->members.end(), to) == v->members.end();
      }
    }
    CHECK_MESSAGE(failed, "c still reaches " << to);
  }
  // Every member revokes c (the observer too: members must agree on who is in): c is dropped at
  // its next message everywhere, and a and b keep calling each other.
  REQUIRE(obs->revoke_key(kc.public_z85));
  auto const rest = names{"a", "b", "observer"}, hosts = names{"a", "b"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, rest, hosts); }, 8000ms));
  for (auto const& [via, to] : {std::pair{"a", "b"}, std::pair{"b", "a"}}) {
    auto r = route_from(via, to);
    REQUIRE(r);
    CHECK_MESSAGE(r->error_code == 0, via << " -> " << to << ": " << r->error_text);
  }
  std::this_thread::sleep_for(1500ms);  // past failure_timeout: c keeps trying to heartbeat them
  CHECK(views_agree(*obs, hosts, rest, hosts));
  CHECK(obs->transport_stats().revoked_frames > 0);
}

// ---- membership under faults (docs/fencing.md) ---------------------------------------------------

namespace {

/// One Add a member handled, from its --journal file.
struct handled {
  std::string node;
  std::string id;
  long amount = 0;
  std::uint64_t instance = 0;
  long long t_ns = 0;  // CLOCK_MONOTONIC (steady_clock here)
};

std::vector<handled> read_journal(std::string const& path, std::string const& node) {
  std::vector<handled> out;
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return out;
  char id[256];
  long amount = 0;
  unsigned long long inst = 0;
  long long t = 0;
  while (std::fscanf(f, "%255s %ld %llu %lld", id, &amount, &inst, &t) == 4) out.push_back({node, id, amount, inst, t});
  std::fclose(f);
  return out;
}

/// Pairs of activation instances of one id on different nodes whose handling overlapped in time.
int overlapping_activations(std::vector<handled> const& all) {
  struct span {
    std::string node;
    long long first, last;
  };
  std::map<std::string, std::map<std::pair<std::string, std::uint64_t>, span>> by_id;
  for (auto const& h : all) {
    auto [it, fresh] = by_id[h.id].try_emplace({h.node, h.instance}, span{h.node, h.t_ns, h.t_ns});
    if (!fresh) {
      it->second.first = std::min(it->second.first, h.t_ns);
      it->second.last = std::max(it->second.last, h.t_ns);
    }
  }
  int overlaps = 0;
  for (auto const& [id, spans] : by_id)
    for (auto a = spans.begin(); a != spans.end(); ++a)
      for (auto b = std::next(a); b != spans.end(); ++b)
        if (a->second.node != b->second.node && a->second.first <= b->second.last && b->second.first <= a->second.last) {
          MESSAGE("overlap on '" << id << "': " << a->second.node << " and " << b->second.node);
          ++overlaps;
        }
  return overlaps;
}

}  // namespace

TEST_CASE("a member paused with SIGSTOP under load: no overlapping activations, no hung call, no handler for a timed-out call" *
          doctest::timeout(90)) {
  long const failure_timeout = 1000;  // lease 500 ms
  char dir_template[] = "/tmp/mesh-fence-XXXXXX";
  REQUIRE(::mkdtemp(dir_template));
  std::string const dir = dir_template;
  auto with_journal = [&](std::string name, std::vector<std::string> seeds) {
    auto o = member(name, std::move(seeds), failure_timeout);
    o.extra = {"--journal", dir + "/" + name + ".log"};
    return o;
  };
  member_process a(with_journal("a", {}));
  member_process b(with_journal("b", {a.endpoint()}));
  member_process c(with_journal("c", {a.endpoint()}));
  auto obs = make_observer(a.endpoint(), failure_timeout);
  names const hosts{"a", "b", "c"}, members{"a", "b", "c", "observer"};
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, members, hosts); }, 5000ms));

  // Four clients, each calling its own 15 ids in turn (one call in flight per id), every Add
  // with a unique amount so the journals tell which call ran where and when.
  struct outcome {
    long amount;
    mesh::errc code;
    long long sent_ns, done_ns;
  };
  std::atomic<bool> stop{false};
  std::atomic<long> next_amount{1};
  std::mutex m;
  std::vector<outcome> outcomes;
  auto const call_timeout = 400ms;
  auto now_ns = [] { return static_cast<long long>(steady::now().time_since_epoch().count()); };
  std::vector<std::thread> clients;
  for (int k = 0; k < 4; ++k)
    clients.emplace_back([&, k] {
      for (int round = 0; !stop.load(); ++round) {
        std::string const id = "ld-" + std::to_string(k + 4 * (round % 15));
        long const amount = next_amount.fetch_add(1);
        auto const sent = now_ns();
        auto r = obs->call<app::Counter>(id, app::Add{amount}, call_timeout);
        std::lock_guard lk(m);
        outcomes.push_back({amount, r ? mesh::errc::ok : r.error().code, sent, now_ns()});
      }
    });
  std::this_thread::sleep_for(1500ms);
  auto const paused_at = now_ns();
  c.signal(SIGSTOP);
  std::this_thread::sleep_for(4000ms);
  c.signal(SIGCONT);
  auto const resumed_at = now_ns();
  std::this_thread::sleep_for(4000ms);
  stop = true;
  for (auto& t : clients) t.join();
  REQUIRE(wait_until([&] { return views_agree(*obs, hosts, members, hosts); }, 8000ms));
  c.signal(SIGTERM);  // flushes nothing more: every journal line is written when handled
  b.signal(SIGTERM);
  a.signal(SIGTERM);

  std::vector<handled> all;
  for (std::string n : {"a", "b", "c"}) {
    auto j = read_journal(dir + "/" + n + ".log", n);
    all.insert(all.end(), j.begin(), j.end());
  }
  REQUIRE(!all.empty());
  std::map<long, std::vector<handled const*>> by_amount;
  for (auto const& h : all) by_amount[h.amount].push_back(&h);

  std::map<std::string, int> counts;
  int hung = 0, late = 0, ran_twice = 0;
  long long last_c_before_resume = 0, first_elsewhere_after_pause = 0;
  for (auto const& o : outcomes) {
    ++counts[std::string(mesh::to_string(o.code))];
    // Every call ends by its deadline (plus scheduling slack): none waits for ever.
    if (o.done_ns - o.sent_ns > std::chrono::duration_cast<std::chrono::nanoseconds>(call_timeout + 1000ms).count()) ++hung;
    auto const& runs = by_amount[o.amount];
    if (runs.size() > 1) ++ran_twice;
    // A call its caller saw time out must not run afterwards (on the resumed member or anywhere).
    if (o.code == mesh::errc::timeout)
      for (auto const* h : runs)
        if (h->t_ns > o.done_ns) {
          ++late;
          MESSAGE("call " << o.amount << " on '" << h->id << "' timed out, then ran on " << h->node << " "
                          << (h->t_ns - o.done_ns) / 1000000 << " ms later");
        }
  }
  for (auto const& h : all) {
    if (h.node == "c" && h.t_ns < resumed_at) last_c_before_resume = std::max(last_c_before_resume, h.t_ns);
  }
  for (auto const& h : all)
    if (h.node != "c" && h.t_ns > paused_at && h.id.size() && first_elsewhere_after_pause == 0) {
      // the first id that c served before the pause and another node served after it
      bool c_had_it = std::any_of(all.begin(), all.end(), [&](handled const& x) { return x.node == "c" && x.id == h.id && x.t_ns < paused_at; });
      if (c_had_it) first_elsewhere_after_pause = h.t_ns;
    }
  for (auto const& [k, v] : counts) MESSAGE("calls " << k << ": " << v);
  MESSAGE("handled " << all.size() << " Adds; c's last before resuming: " << (last_c_before_resume - paused_at) / 1000000
                     << " ms after the pause; its ids taken over " << (first_elsewhere_after_pause - paused_at) / 1000000
                     << " ms after the pause");
  CHECK(hung == 0);
  CHECK(late == 0);
  CHECK(ran_twice == 0);
  CHECK(overlapping_activations(all) == 0);
  CHECK(counts["ok"] > 100);
  CHECK(first_elsewhere_after_pause > 0);
  std::filesystem::remove_all(dir);
}

TEST_SUITE_END();
