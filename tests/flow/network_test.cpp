// Layer flow: local networks (DataMesh's own tests, typed, plus ids, errors, retrieve, DOT).
#include "logics.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

using namespace flow_test;
using mesh::errc;
using mesh::flow::network;
using mesh::flow::node_id;
using namespace std::chrono_literals;

namespace {
network small_network(std::size_t workers = 2, std::size_t capacity = 1024) {
  mesh::flow::network_config cfg;
  cfg.workers = workers;
  cfg.queue_capacity = capacity;
  cfg.logger = [](std::string_view) {};
  return network(cfg);
}

/// "fragile" -> "sink", fed 1, -2, 3, -4, 5 (Fragile throws on the negative items), then idle.
void run_fragile_into_sink(network& net) {
  REQUIRE(net.start_node<Fragile>("fragile"));
  REQUIRE(net.start_node<Collector>("sink"));
  REQUIRE(net.connect("fragile", "sink"));
  for (int v : {1, -2, 3, -4, 5}) REQUIRE(net.send_data("fragile", v));
  REQUIRE(net.wait_idle());
}
}  // namespace

TEST_CASE("node_id treats const char*, string_view and string as the same id") {
  std::string s = "filter";
  CHECK(node_id("filter") == node_id(std::string_view("filter")));
  CHECK(node_id("filter") == node_id(s));
  CHECK(node_id("filter").hash() == node_id(s).hash());
  CHECK(node_id("a") < node_id("b"));
}

TEST_CASE("node_id compares integers by value whatever their type") {
  CHECK(node_id(42) == node_id(42u));
  CHECK(node_id(42) == node_id(std::int64_t{42}));
  CHECK(node_id(static_cast<unsigned char>(42)) == node_id(42L));
  CHECK(node_id(-1) != node_id(std::numeric_limits<std::uint64_t>::max()));
  CHECK(node_id(-5) < node_id(3));
  CHECK(node_id(42).hash() == node_id(42ull).hash());
  CHECK(node_id(42).to_string() == "42");
  CHECK(node_id(-7).to_string() == "-7");
}

TEST_CASE("node_id compares tuples element-wise and tells \"42\" from 42") {
  CHECK(node_id(std::tuple{"sensor", 3}) == node_id(std::tuple{std::string("sensor"), 3L}));
  CHECK(node_id(std::tuple{"sensor", 3}) != node_id(std::tuple{"sensor", 4}));
  CHECK(node_id(std::pair{1, 2}) == node_id(std::tuple{1u, 2u}));
  CHECK(node_id("42") != node_id(42));
  CHECK(node_id("42").to_string() == "\"42\"");
  CHECK(node_id(std::tuple{"a\"b", 1}).to_string() == "(\"a\\\"b\", 1)");
}

TEST_CASE("a node without options starts and processes data") {
  auto net = small_network();
  REQUIRE(net.start_node<Collector>("sink"));
  REQUIRE(net.send_data("sink", 7));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Collector>("sink") == std::vector<int>{7});
}

TEST_CASE("data flows from a source to a collector in order") {
  auto net = small_network();
  REQUIRE(net.start_node<Source>("source"));
  REQUIRE(net.start_node<Collector>("collector"));
  REQUIRE(net.connect("source", "collector"));
  for (int i = 0; i < 1000; ++i) REQUIRE(net.send_data("source", i));
  REQUIRE(net.wait_idle());
  std::vector<int> want(1000);
  std::iota(want.begin(), want.end(), 0);
  CHECK(*net.retrieve_data<Collector>("collector") == want);
  CHECK(*net.retrieve_data<Source>("source") == 1000);
}

TEST_CASE("the 1:N:1 shape delivers every item to every collector exactly once") {
  // DataMesh's shape: one broadcaster, 10 collectors (each forwarding to one final collector).
  auto net = small_network();
  REQUIRE(net.start_node<Source>("broadcaster"));
  REQUIRE(net.start_node<Collector>("final"));
  for (int c = 0; c < 10; ++c) {
    REQUIRE(net.start_node<Source>(std::tuple{"collector", c}));
    REQUIRE(net.connect("broadcaster", std::tuple{"collector", c}));
    REQUIRE(net.connect(std::tuple{"collector", c}, "final"));
  }
  for (int i = 0; i < 10; ++i) REQUIRE(net.send_data("broadcaster", i));
  REQUIRE(net.wait_idle());
  for (int c = 0; c < 10; ++c) CHECK(*net.retrieve_data<Source>(std::tuple{"collector", c}) == 10);
  auto all = *net.retrieve_data<Collector>("final");
  REQUIRE(all.size() == 100);
  std::map<int, int> counts;
  for (int v : all) ++counts[v];
  for (int i = 0; i < 10; ++i) CHECK(counts[i] == 10);
}

TEST_CASE("a node with options is constructed from them and reports them in node_info") {
  auto net = small_network();
  REQUIRE(net.start_node<Threshold>("filter", Threshold::options{10}));
  REQUIRE(net.start_node<Collector>("sink"));
  REQUIRE(net.connect("filter", "sink"));
  for (int i : {5, 11, 10, 42}) REQUIRE(net.send_data("filter", i));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Collector>("sink") == std::vector<int>{11, 42});
  auto info = net.node_info("filter");
  REQUIRE(info);
  CHECK(info->id == node_id("filter"));
  CHECK(info->logic.find("Threshold") != std::string::npos);
  CHECK(info->options == "{10}");
  CHECK(info->links == std::vector<node_id>{"sink"});
  CHECK(info->processed == 4);
  CHECK(info->errors == 0);
  CHECK(info->input_type == "int");
  CHECK(info->output_type == "int");
}

TEST_CASE("a logic may emit many items per input") {
  auto net = small_network();
  REQUIRE(net.start_node<Repeat>("rep", Repeat::options{3}));
  REQUIRE(net.start_node<Stats>("stats"));
  REQUIRE(net.connect("rep", "stats"));
  for (int i = 0; i < 100; ++i) REQUIRE(net.send_data("rep", i));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Stats>("stats", "count") == 300);
  CHECK(*net.retrieve_data<Stats>("stats", std::string("sum")) == 3 * 4950);
  CHECK(*net.retrieve_data<Stats>("stats") == 3 * 4950);
}

TEST_CASE("send_to delivers to one node by id, linked or not") {
  auto net = small_network();
  REQUIRE(net.start_node<Router>("router"));
  for (int b = 0; b < 3; ++b) REQUIRE(net.start_node<Collector>(std::tuple{"bucket", b}));
  for (int i = 0; i < 30; ++i) REQUIRE(net.send_data("router", i));
  REQUIRE(net.wait_idle());
  for (int b = 0; b < 3; ++b) {
    auto items = *net.retrieve_data<Collector>(std::tuple{"bucket", b});
    CHECK(items.size() == 10);
    CHECK(std::all_of(items.begin(), items.end(), [&](int v) { return v % 3 == b; }));
  }
  CHECK(*net.retrieve_data<Router>("router") == 0);
}

TEST_CASE("send_to an unknown or mistyped node fails and is counted as undeliverable") {
  auto net = small_network();
  REQUIRE(net.start_node<Router>("router"));
  REQUIRE(net.start_node<Collector>(std::tuple{"bucket", 0}));
  REQUIRE(net.start_node<Words>(std::tuple{"bucket", 1}));  // takes strings
  for (int i = 0; i < 3; ++i) REQUIRE(net.send_data("router", i));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Router>("router") == 2);
  CHECK(net.node_info("router")->undeliverable == 2);
  CHECK(*net.retrieve_data<Collector>(std::tuple{"bucket", 0}) == std::vector<int>{0});
}

TEST_CASE("start_node rejects a used id with already_exists and changes nothing") {
  auto net = small_network();
  REQUIRE(net.start_node<Threshold>("n", Threshold::options{1}));
  auto r = net.start_node<Collector>("n");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::already_exists);
  CHECK(r.error().message.find("\"n\"") != std::string::npos);
  CHECK(net.node_info("n")->options == "{1}");
  CHECK(net.nodes().size() == 1);
}

TEST_CASE("start_nodes starts all nodes or none") {
  auto net = small_network();
  REQUIRE(net.start_nodes<Collector>({1, 2, 3}));
  CHECK(net.nodes() == std::vector<node_id>{1, 2, 3});
  auto dup = net.start_nodes<Collector>({4, 5, 2});
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == errc::already_exists);
  CHECK(net.nodes().size() == 3);
  auto twice = net.start_nodes<Collector>({7, 7});
  CHECK(twice.error().code == errc::already_exists);
  REQUIRE(net.start_nodes(mesh::flow::spec<Threshold>("t", {5}), mesh::flow::spec<Collector>("c")));
  auto bad = net.start_nodes(mesh::flow::spec<Collector>("x"), mesh::flow::spec<BadConstructor>("y", {-1}));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::invalid_argument);
  CHECK(bad.error().message.find("x must not be negative") != std::string::npos);
  CHECK_FALSE(net.node_info("x"));
  CHECK(net.nodes().size() == 5);
}

TEST_CASE("unknown ids fail with not_found everywhere") {
  auto net = small_network();
  REQUIRE(net.start_node<Source>("a"));
  CHECK(net.connect("a", "nope").error().code == errc::not_found);
  CHECK(net.connect("nope", "a").error().code == errc::not_found);
  CHECK(net.disconnect("a", "nope").error().code == errc::not_found);
  CHECK(net.send_data("nope", 1).error().code == errc::not_found);
  CHECK(net.stop_node("nope").error().code == errc::not_found);
  CHECK(net.node_info("nope").error().code == errc::not_found);
  CHECK(net.retrieve_data<Source>("nope").error().code == errc::not_found);
  CHECK(net.send_data(42, 1).error().code == errc::not_found);
  REQUIRE(net.start_node<Source>(42));
  CHECK(net.send_data("42", 1).error().code == errc::not_found);  // "42" is not 42
  CHECK(net.send_data(42u, 1));
}

TEST_CASE("connect requires the source output to be the target input exactly") {
  auto net = small_network();
  REQUIRE(net.start_node<Namer>("namer"));
  REQUIRE(net.start_node<Collector>("ints"));
  REQUIRE(net.start_node<Words>("words"));
  auto r = net.connect("namer", "ints");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::type_mismatch);
  CHECK(r.error().message.find("std::string") != std::string::npos);
  CHECK(net.node_info("namer")->links.empty());
  auto sink = net.connect("ints", "words");
  CHECK(sink.error().code == errc::type_mismatch);  // a sink has no output
  REQUIRE(net.connect("namer", "words"));
  CHECK(net.connect("namer", "words").error().code == errc::already_exists);
  REQUIRE(net.send_data("namer", 1));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Words>("words") == std::vector<std::string>{"item 1"});
}

TEST_CASE("send_data requires the node's input type and takes a string literal as std::string") {
  auto net = small_network();
  REQUIRE(net.start_node<Words>("words"));
  REQUIRE(net.start_node<Collector>("ints"));
  auto r = net.send_data("words", 5);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::type_mismatch);
  CHECK(net.send_data("ints", 5L).error().code == errc::type_mismatch);  // long is not int
  CHECK(net.send_data("ints", "five").error().code == errc::type_mismatch);
  REQUIRE(net.send_data("words", "hello"));
  REQUIRE(net.send_data("words", std::string("world")));
  char const* p = "pointer";
  REQUIRE(net.send_data("words", p));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Words>("words") == std::vector<std::string>{"hello", "world", "pointer"});
  CHECK(net.node_info("ints")->processed == 0);
}

TEST_CASE("retrieve_data names the wrong logic with type_mismatch") {
  auto net = small_network();
  REQUIRE(net.start_node<Source>("s"));
  auto r = net.retrieve_data<Collector>("s");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::type_mismatch);
}

TEST_CASE("a throwing logic is counted, logged and keeps running with its state") {
  std::vector<std::string> lines;
  std::mutex m;
  mesh::flow::network_config cfg;
  cfg.workers = 2;
  cfg.logger = [&](std::string_view l) {
    std::lock_guard lk(m);
    lines.emplace_back(l);
  };
  network net(cfg);
  run_fragile_into_sink(net);
  CHECK(*net.retrieve_data<Fragile>("fragile") == 3);
  CHECK(*net.retrieve_data<Collector>("sink") == std::vector<int>{1, 3, 5});
  auto info = *net.node_info("fragile");
  CHECK(info.errors == 2);
  CHECK(info.processed == 3);
  CHECK(info.last_error == "negative item -4");
  std::lock_guard lk(m);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("negative item -2") != std::string::npos);
  CHECK(lines[0].find("\"fragile\"") != std::string::npos);
}

TEST_CASE("a logger that throws does not stop the workers that log through it") {
  std::atomic<int> calls{0};
  mesh::flow::network_config cfg;
  cfg.workers = 2;
  cfg.logger = [&](std::string_view) {
    ++calls;
    throw std::runtime_error("logger is broken");
  };
  network net(cfg);
  run_fragile_into_sink(net);
  CHECK(calls.load() == 2);  // both errors were offered to the logger (and went to stderr)
  CHECK(*net.retrieve_data<Collector>("sink") == std::vector<int>{1, 3, 5});
  CHECK(net.node_info("fragile")->errors == 2);
  REQUIRE(net.send_data("fragile", 7));  // the workers are still there
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Collector>("sink") == std::vector<int>{1, 3, 5, 7});
}

TEST_CASE("a logic with rollback_on_error keeps its previous state when it throws") {
  auto net = small_network();
  REQUIRE(net.start_node<Transactional>("t"));
  for (int v : {10, -5, 20}) REQUIRE(net.send_data("t", v));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Transactional>("t") == 30);
  CHECK(net.node_info("t")->errors == 1);
}

TEST_CASE("disconnect stops the flow on that link and stop_node removes its links") {
  auto net = small_network();
  REQUIRE(net.start_node<Source>("src"));
  REQUIRE(net.start_node<Collector>("a"));
  REQUIRE(net.start_node<Collector>("b"));
  REQUIRE(net.connect("src", "a"));
  REQUIRE(net.connect("src", "b"));
  REQUIRE(net.send_data("src", 1));
  REQUIRE(net.wait_idle());
  REQUIRE(net.disconnect("src", "a"));
  CHECK(net.disconnect("src", "a").error().code == errc::not_found);
  REQUIRE(net.send_data("src", 2));
  REQUIRE(net.wait_idle());
  CHECK(*net.retrieve_data<Collector>("a") == std::vector<int>{1});
  CHECK(*net.retrieve_data<Collector>("b") == std::vector<int>{1, 2});
  REQUIRE(net.stop_node("b"));
  CHECK(net.node_info("src")->links.empty());
  CHECK(net.send_data("b", 3).error().code == errc::not_found);
  REQUIRE(net.start_node<Collector>("b"));  // the id is free again
  CHECK(net.nodes() == std::vector<node_id>{"a", "b", "src"});
}

TEST_CASE("to_dot draws every node and link") {
  auto net = small_network();
  REQUIRE(net.start_node<Source>("src"));
  REQUIRE(net.start_node<Threshold>("filter", Threshold::options{3}));
  REQUIRE(net.start_node<Collector>(7));
  REQUIRE(net.connect("src", "filter"));
  REQUIRE(net.connect("filter", 7));
  auto dot = net.to_dot();
  CHECK(dot.rfind("digraph flow {", 0) == 0);
  CHECK(dot.find(R"("\"src\"" -> "\"filter\"";)") != std::string::npos);
  CHECK(dot.find(R"("\"filter\"" -> "7";)") != std::string::npos);
  CHECK(dot.find("Threshold {3}") != std::string::npos);
}
