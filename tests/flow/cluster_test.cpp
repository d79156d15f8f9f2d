// Layer flow, system: a network spanning two real processes of a mesh cluster. The test process
// and one mesh_flow_test_member child both register mesh::flow::flow_capability, so flow nodes
// are placed on both by id; links and data cross the ZeroMQ transport. The child ends when its
// stdin closes (at the end of each case, or if this process dies).
#include "cluster_schema.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MESH_FLOW_TEST_MEMBER_PATH
#error "MESH_FLOW_TEST_MEMBER_PATH must name the mesh_flow_test_member binary"
#endif

extern char** environ;

using namespace flow_cluster;
using mesh::errc;
using mesh::flow::node_id;
using namespace std::chrono_literals;

namespace {

/// One member child process; killed and reaped by the destructor.
class member_process {
 public:
  member_process(std::string name, std::string seed) {
    std::vector<std::string> args{MESH_FLOW_TEST_MEMBER_PATH, "--name", std::move(name), "--max-lifetime-s", "120"};
    if (!seed.empty()) args.insert(args.end(), {"--seed", seed});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    int const rc = posix_spawn(&pid_, MESH_FLOW_TEST_MEMBER_PATH, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(in[0]);
    out_ = out[0];
    in_ = in[1];
    if (rc != 0) throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
    endpoint_ = read_endpoint();
  }
  member_process(member_process const&) = delete;
  member_process& operator=(member_process const&) = delete;
  ~member_process() {
    if (in_ >= 0) close(in_);  // asks the child to leave gracefully
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
      else std::this_thread::sleep_for(20ms);
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  std::string const& endpoint() const { return endpoint_; }

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
    throw std::runtime_error("member did not print its endpoint");
  }
  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  std::string endpoint_;
};

/// This process as the second member, joined to a child member "remote".
struct two_members {
  member_process child{"remote", ""};
  mesh::node<schema> node{make_config(child.endpoint())};

  two_members() {
    node.register_capabilities<mesh::flow::flow_capability>();
    auto const until = std::chrono::steady_clock::now() + 10s;
    while (node.nodes_for<mesh::flow::flow_capability>().size() < 2) {
      if (std::chrono::steady_clock::now() > until) throw std::runtime_error("the cluster did not form");
      std::this_thread::sleep_for(10ms);
    }
  }
  static mesh::node_config make_config(std::string seed) {
    mesh::node_config cfg;
    cfg.name = "tester";
    cfg.listen = "tcp://127.0.0.1:*";
    cfg.seeds = {std::move(seed)};
    cfg.heartbeat_interval = 50ms;
    cfg.failure_timeout = 2000ms;
    cfg.workers = 2;
    cfg.logger = [](std::string_view) {};
    return cfg;
  }
};

}  // namespace

TEST_CASE("a clustered network places nodes on both processes and the 1:N:1 shape crosses them") {
  two_members c;
  mesh::flow::network net{c.node};
  REQUIRE(net.clustered());
  REQUIRE(net.start_node<Source>("broadcaster"));
  REQUIRE(net.start_node<Collector>("final"));
  std::set<std::string> locations;
  for (int k = 0; k < 10; ++k) {
    REQUIRE(net.start_node<Source>(std::tuple{"collector", k}));
    REQUIRE(net.connect("broadcaster", std::tuple{"collector", k}));
    REQUIRE(net.connect(std::tuple{"collector", k}, "final"));
    locations.insert(net.node_info(std::tuple{"collector", k})->location);
  }
  CHECK(locations == std::set<std::string>{"remote", "tester"});  // placed by id on both members
  for (int i = 0; i < 10; ++i) REQUIRE(net.send_data("broadcaster", Reading{"s", i}));
  REQUIRE(net.wait_idle(20s));
  for (int k = 0; k < 10; ++k) CHECK(*net.retrieve_data<Source>(std::tuple{"collector", k}) == 10);
  auto all = *net.retrieve_data<Collector>("final");
  REQUIRE(all.size() == 100);
  std::map<int, int> counts;
  for (int v : all) ++counts[v];
  for (int i = 0; i < 10; ++i) CHECK(counts[i] == 10);
  CHECK(*net.retrieve_data<Collector>("final", std::string("s")) == 100);
  auto dot = net.to_dot();
  CHECK(dot.find("@remote") != std::string::npos);
  CHECK(dot.find("@tester") != std::string::npos);
}

TEST_CASE("a clustered network rejects what a local one rejects and changes nothing") {
  two_members c;
  mesh::flow::network net{c.node};
  REQUIRE(net.start_node<Threshold>("filter", Threshold::options{10}));
  REQUIRE(net.start_node<Words>("words"));
  REQUIRE(net.start_node<Collector>("sink"));
  CHECK(net.start_node<Collector>("filter").error().code == errc::already_exists);
  CHECK(net.node_info("filter")->logic == "threshold");
  CHECK(net.node_info("filter")->options == "{10}");
  CHECK(net.connect("filter", "nope").error().code == errc::not_found);
  auto mismatch = net.connect("filter", "words");
  REQUIRE_FALSE(mismatch);
  CHECK(mismatch.error().code == errc::type_mismatch);
  CHECK(net.node_info("filter")->links.empty());
  CHECK(net.connect("sink", "words").error().code == errc::type_mismatch);  // a sink has no output
  CHECK(net.send_data("nope", Reading{"s", 1}).error().code == errc::not_found);
  CHECK(net.send_data("words", Reading{"s", 1}).error().code == errc::type_mismatch);
  CHECK(net.send_data("filter", std::string("text")).error().code == errc::type_mismatch);
  CHECK(net.send_data("filter", 5).error().code == errc::type_mismatch);
  CHECK(net.retrieve_data<Collector>("words").error().code == errc::type_mismatch);
  REQUIRE(net.send_data("words", "hello"));
  REQUIRE(net.connect("filter", "sink"));
  CHECK(net.connect("filter", "sink").error().code == errc::already_exists);
  for (int v : {5, 15, -1, 25}) REQUIRE(net.send_data("filter", Reading{"s", v}));
  REQUIRE(net.wait_idle(20s));
  CHECK(*net.retrieve_data<Collector>("sink") == std::vector<int>{15, 25});
  CHECK(*net.retrieve_data<Words>("words") == std::vector<std::string>{"hello"});
  auto info = *net.node_info("filter");
  CHECK(info.errors == 1);  // the negative reading threw; the node kept running
  CHECK(info.last_error == "negative reading");
  CHECK(info.processed == 3);
  REQUIRE(net.disconnect("filter", "sink"));
  CHECK(net.disconnect("filter", "sink").error().code == errc::not_found);
  REQUIRE(net.stop_node("sink"));
  CHECK(net.node_info("sink").error().code == errc::not_found);
  CHECK(net.nodes() == std::vector<node_id>{"filter", "words"});
}

TEST_CASE("send_to reaches nodes by id across processes") {
  two_members c;
  mesh::flow::network net{c.node};
  REQUIRE(net.start_node<Router>("router"));
  std::set<std::string> locations;
  for (int b = 0; b < 3; ++b) {
    REQUIRE(net.start_node<Collector>(std::tuple{"bucket", b}));
    locations.insert(net.node_info(std::tuple{"bucket", b})->location);
  }
  for (int i = 0; i < 30; ++i) REQUIRE(net.send_data("router", Reading{"r", i}));
  REQUIRE(net.wait_idle(20s));
  for (int b = 0; b < 3; ++b) {
    auto items = *net.retrieve_data<Collector>(std::tuple{"bucket", b});
    CHECK(items.size() == 10);
    for (int v : items) CHECK(v % 3 == b);
  }
  CHECK(*net.retrieve_data<Router>("router") == 0);
  MESSAGE("buckets placed on: " << locations.size() << " member(s)");
}

TEST_CASE("a compile-time graph starts into a clustered network in one call") {
  using pipeline = mesh::flow::graph<mesh::flow::node<"source", Source>, mesh::flow::node<"threshold", Threshold>,
                                     mesh::flow::node<"collector", Collector>,
                                     mesh::flow::edge<"source", "threshold">,
                                     mesh::flow::edge<"threshold", "collector">>;
  two_members c;
  mesh::flow::network net{c.node};
  auto p = pipeline::start(net, mesh::flow::with<"threshold">(Threshold::options{3}));
  REQUIRE(p);
  for (int i = 0; i < 6; ++i) REQUIRE(p->send<"source">(Reading{"g", i}));
  REQUIRE(net.wait_idle(20s));
  CHECK(*p->retrieve<"collector">() == std::vector<int>{3, 4, 5});
  CHECK(*p->retrieve<"source">() == 6);
}

namespace signature_cases {
struct Point {
  BOOST_HANA_DEFINE_STRUCT(Point, (int, x), (int, y));
};
namespace elsewhere {
struct Coords {  // another name and namespace, the same fields
  BOOST_HANA_DEFINE_STRUCT(Coords, (int, x), (int, y));
};
}  // namespace elsewhere
struct Renamed {
  BOOST_HANA_DEFINE_STRUCT(Renamed, (int, x), (int, z));
};
struct Wider {
  BOOST_HANA_DEFINE_STRUCT(Wider, (int, x), (long long, y));
};
enum class Level : std::uint8_t { low, high };
enum class Mode : std::uint8_t { off, on };
}  // namespace signature_cases

TEST_CASE("signature_v identifies data types by structure, not by the compiler's type names") {
  using mesh::flow::detail::signature_v;
  using namespace signature_cases;
  static_assert(signature_v<Point> == signature_v<elsewhere::Coords>);
  static_assert(signature_v<Point> != signature_v<Renamed>);
  static_assert(signature_v<Point> != signature_v<Wider>);
  static_assert(signature_v<Level> == signature_v<Mode>);
  static_assert(signature_v<Level> != signature_v<std::uint8_t>);
  static_assert(signature_v<std::vector<int>> != signature_v<std::vector<long long>>);
  static_assert(signature_v<std::string> != signature_v<std::vector<char>>);
  static_assert(signature_v<Reading> != signature_v<std::string>);
  CHECK(signature_v<Reading> == signature_v<Reading>);
}
