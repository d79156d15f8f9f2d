// Layer flow: compile-time graphs (checked DAGs started into a network).
#include "logics.hpp"

#include <doctest/doctest.h>

using namespace flow_test;
using mesh::errc;
using mesh::flow::edge;
using mesh::flow::network;
using mesh::flow::node;
using mesh::flow::node_id;

namespace {

struct Widen {  // int -> long: an edge from an int output to a long input converts
  using input = long;
  void process(long const& v) { sum += v; }
  long retrieve() const { return sum; }
  long sum = 0;
};

using pipeline = mesh::flow::graph<                   //
    node<"source", Source>,                           //
    node<"filter", Threshold>,                        //
    node<"sink", Collector>,                          //
    node<"wide", Widen>,                              //
    edge<"source", "filter">,                         //
    edge<"filter", "sink">,                           //
    edge<"filter", "wide">>;

using diamond = mesh::flow::graph<node<"d", Collector>, node<"b", Source>, node<"c", Source>, node<"a", Source>,
                                  edge<"a", "b">, edge<"a", "c">, edge<"b", "d">, edge<"c", "d">>;

network quiet_network() {
  mesh::flow::network_config cfg;
  cfg.workers = 2;
  cfg.logger = [](std::string_view) {};
  return network(cfg);
}

}  // namespace

static_assert(pipeline::valid);
static_assert(pipeline::node_count == 4 && pipeline::edge_count == 3);
static_assert(pipeline::has_node<"filter"> && !pipeline::has_node<"nope">);
static_assert(std::is_same_v<pipeline::logic_of<"filter">, Threshold>);

TEST_CASE("graph exposes its names and a topological order at compile time") {
  constexpr auto order = diamond::topological_order();
  static_assert(order[0] == "a");
  static_assert(order[3] == "d");
  CHECK(order == std::array<std::string_view, 4>{"a", "b", "c", "d"});
  constexpr auto p = pipeline::topological_order();
  CHECK(p == std::array<std::string_view, 4>{"source", "filter", "sink", "wide"});
  CHECK(pipeline::names()[2] == "sink");
}

TEST_CASE("graph to_dot draws its nodes and edges") {
  auto dot = pipeline::to_dot();
  CHECK(dot.rfind("digraph flow {", 0) == 0);
  CHECK(dot.find("\"source\" -> \"filter\";") != std::string::npos);
  CHECK(dot.find("\"filter\" -> \"wide\";") != std::string::npos);
  CHECK(dot.find("filter\\nflow_test::Threshold") != std::string::npos);
}

TEST_CASE("graph start runs every node and link in one call, with options by name") {
  auto net = quiet_network();
  auto p = pipeline::start(net, mesh::flow::with<"filter">(Threshold::options{2}));
  REQUIRE(p);
  for (int i = 0; i < 6; ++i) REQUIRE(p->send<"source">(i));
  REQUIRE(net.wait_idle());
  REQUIRE(p->send<"filter">(short{100}));  // converts to the input type
  REQUIRE(net.wait_idle());
  CHECK(*p->retrieve<"sink">() == std::vector<int>{3, 4, 5, 100});
  CHECK(*p->retrieve<"wide">() == 112);  // the int -> long edge converts
  CHECK(*p->retrieve<"source">() == 6);
  CHECK(p->info<"filter">()->options == "{2}");
  CHECK(net.node_info("filter")->links == std::vector<node_id>{"sink", "wide"});
  CHECK(p->id<"sink">() == node_id("sink"));
}

TEST_CASE("graph start is all or nothing when a name is taken") {
  auto net = quiet_network();
  REQUIRE(net.start_node<Collector>("sink"));
  auto p = pipeline::start(net);
  REQUIRE_FALSE(p);
  CHECK(p.error().code == errc::already_exists);
  CHECK(net.nodes() == std::vector<node_id>{"sink"});
}

TEST_CASE("graph start_as runs several instances side by side") {
  auto net = quiet_network();
  auto one = diamond::start_as(net, 1);
  auto two = diamond::start_as(net, 2);
  REQUIRE(one);
  REQUIRE(two);
  CHECK(net.nodes().size() == 8);
  REQUIRE(one->send<"a">(7));
  REQUIRE(two->send<"a">(8));
  REQUIRE(net.wait_idle());
  CHECK(*one->retrieve<"d">() == std::vector<int>{7, 7});
  CHECK(*two->retrieve<"d">() == std::vector<int>{8, 8});
  CHECK(one->id<"d">() == node_id(std::tuple{1, "d"}));
  two->stop();
  CHECK(net.nodes().size() == 4);
}
