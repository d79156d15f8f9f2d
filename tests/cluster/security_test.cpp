// Security of a listening node (docs/security.md): CURVE keeps outsiders out, membership messages
// are believed only from the member they describe, and nothing a peer sends crashes a node or
// makes it open unbounded sockets. Real sockets on loopback; nodes in this process.
#include "cluster_fixture.hpp"

#include <mesh/transport/curve.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

using namespace cluster_fixture;

namespace {

/// A log that tests can search.
struct log_sink {
  std::mutex m;
  std::vector<std::string> lines;
  std::function<void(std::string_view)> logger() {
    return [this](std::string_view l) {
      std::lock_guard lk(m);
      lines.emplace_back(l);
    };
  }
  bool contains(std::string_view s) {
    std::lock_guard lk(m);
    for (auto const& l : lines)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
};

/// A DEALER to `endpoint` configured by `setup` (CURVE options or none); sends `f` and reports
/// whether anything at all came back within `wait`.
bool anything_back(std::string const& endpoint, mesh::wire::frame const& f, std::function<void(zmq::socket_t&)> setup,
                   milliseconds wait = 500ms) {
  zmq::context_t ctx;
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  d.set(zmq::sockopt::linger, 0);
  d.set(zmq::sockopt::rcvtimeo, static_cast<int>(wait.count()));
  setup(d);
  d.connect(endpoint);
  send_raw(d, f);
  zmq::message_t m;
  return static_cast<bool>(d.recv(m));
}

mesh::wire::frame control_frame(mesh::cluster::control c, std::string body) {
  mesh::wire::frame f;
  f.h.k = mesh::wire::kind::control;
  f.h.control = static_cast<std::uint16_t>(c);
  f.body.push_back(std::move(body));
  return f;
}

mesh::cluster::member_info member(std::string name, std::string endpoint, std::uint64_t incarnation,
                                  std::uint64_t fingerprint = mesh::wire::fingerprint_v<app::schema>) {
  mesh::cluster::member_info m;
  m.name = std::move(name);
  m.endpoint = std::move(endpoint);
  m.incarnation = incarnation;
  m.fingerprint = fingerprint;
  m.capabilities = {"game"};
  return m;
}

/// An insider's raw DEALER (holds the cluster secret) that keeps its connection open.
struct insider {
  raw_dealer r;
  explicit insider(std::string const& endpoint) : r(endpoint, 300) {}
  void send(mesh::wire::frame const& f) { send_raw(r.d, f); }
};

}  // namespace

TEST_SUITE_BEGIN("security");

TEST_CASE("an outsider without the cluster secret gets nothing back while members keep calling" * doctest::timeout(60)) {
  pair_fixture p;
  auto const add = counter_call("outsider", 0, mesh::wire::encode(app::Add{5}));
  auto const server_public = testing_keys::cluster_keys().public_z85;
  auto const stranger = mesh::transport::keys_from_secret(mesh::generate_cluster_secret()).value();

  // Plain TCP, CURVE with a made-up server key, and CURVE with the right server key but a key
  // pair that is not admitted: no reply, no refusal, no bytes of a mesh frame.
  CHECK_FALSE(anything_back(p.host->endpoint(), add, [](zmq::socket_t&) {}));
  CHECK_FALSE(anything_back(p.host->endpoint(), add, [&](zmq::socket_t& d) {
    d.set(zmq::sockopt::curve_serverkey, stranger.public_z85);
    d.set(zmq::sockopt::curve_publickey, stranger.public_z85);
    d.set(zmq::sockopt::curve_secretkey, stranger.secret_z85);
  }));
  CHECK_FALSE(anything_back(p.host->endpoint(), add, [&](zmq::socket_t& d) {
    d.set(zmq::sockopt::curve_serverkey, server_public);
    d.set(zmq::sockopt::curve_publickey, stranger.public_z85);
    d.set(zmq::sockopt::curve_secretkey, stranger.secret_z85);
  }));
  // The member's calls go on, and none of the outsiders' Add{5} ever ran.
  for (int i = 0; i < 20; ++i) REQUIRE(p.caller->call<app::Counter>("c" + std::to_string(i), app::Add{1}).has_value());
  auto untouched = p.caller->call<app::Counter>("outsider", app::Get{});
  REQUIRE(untouched.has_value());
  CHECK(untouched->value == 0);
  auto const call = counter_call("x", 1, mesh::wire::encode(app::Get{}));
  // An insider's raw call is answered (the same call, with the cluster key pair).
  CHECK(anything_back(p.host->endpoint(), call, [](zmq::socket_t& d) { testing_keys::as_cluster_client(d); }, 3000ms));
}

TEST_CASE("a node with another cluster secret is refused and never becomes a member" * doctest::timeout(60)) {
  auto a = start("a");
  a->register_capabilities<app::game>();
  auto cfg = config("b", {a->endpoint()});
  cfg.cluster_secret = mesh::generate_cluster_secret();
  auto b = std::make_unique<app_node>(cfg);
  std::this_thread::sleep_for(1000ms);  // many heartbeat intervals
  CHECK(a->cluster_members() == names{"a"});
  CHECK(b->cluster_members() == names{"b"});
  auto r = b->call<app::Counter>("x", app::Add{1});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::no_nodes);
}

TEST_CASE("an insecure node speaks plain TCP with insecure peers" * doctest::timeout(60)) {
  auto ca = config("a");
  ca.insecure = true;
  auto a = std::make_unique<app_node>(ca);
  a->register_capabilities<app::game>();
  auto cb = config("b", {a->endpoint()});
  cb.insecure = true;
  auto b = std::make_unique<app_node>(cb);
  REQUIRE(converged({a.get(), b.get()}, {"a", "b"}, {"a"}));
  auto r = b->call<app::Counter>("x", app::Add{2});
  REQUIRE(r.has_value());
  CHECK(r->value == 2);
}

TEST_CASE("a cluster secret that is not a CURVE key stops the node's construction with invalid_argument" * doctest::timeout(30)) {
  auto cfg = config("bad");
  cfg.cluster_secret = "not a key";
  try {
    app_node n{cfg};
    FAIL("the node started with a bad secret");
  } catch (mesh::exception const& e) {
    CHECK(e.error().code == mesh::errc::invalid_argument);
  }
}

TEST_CASE("a forged leave sent on another connection does not drop the member" * doctest::timeout(60)) {
  pair_fixture p;
  log_sink sink;
  // The caller's incarnation is in its heartbeats: learn it the way an insider would, from gossip.
  insider spy(p.host->endpoint());
  mesh::cluster::gossip hello;
  hello.self = member("spy", "tcp://127.0.0.1:1", 7);
  hello.self.capabilities.clear();
  spy.send(control_frame(mesh::cluster::control::heartbeat, mesh::wire::encode(hello)));
  // The leave below names "caller" with every incarnation it might have: none is believed.
  for (std::uint64_t inc : {0ull, 1ull, 7ull})
    spy.send(control_frame(mesh::cluster::control::leave, mesh::wire::encode(member("caller", "tcp://127.0.0.1:2", inc))));
  std::this_thread::sleep_for(300ms);
  auto const members = p.host->cluster_members();
  CHECK(std::find(members.begin(), members.end(), "caller") != members.end());
  CHECK(p.host->nodes_for<app::game>() == names{"host"});
  REQUIRE(p.caller->call<app::Counter>("x", app::Add{1}).has_value());
}

TEST_CASE("a heartbeat cannot take over a live member's name, with or without its fingerprint" * doctest::timeout(60)) {
  pair_fixture p;
  for (int i = 0; i < 50; ++i) REQUIRE(p.caller->call<app::Counter>("k" + std::to_string(i), app::Add{1}).has_value());
  insider spy(p.host->endpoint());
  auto const caller_ep = p.caller->endpoint();
  // Same name at the member's own endpoint with a new incarnation (a "restart"), then with another
  // schema's fingerprint (which would mark it incompatible), then at another endpoint.
  mesh::cluster::gossip g;
  g.self = member("caller", caller_ep, 424242);
  spy.send(control_frame(mesh::cluster::control::heartbeat, mesh::wire::encode(g)));
  g.self = member("caller", caller_ep, 424243, 12345);
  spy.send(control_frame(mesh::cluster::control::heartbeat, mesh::wire::encode(g)));
  g.self = member("caller", "tcp://127.0.0.1:9", 424244);
  spy.send(control_frame(mesh::cluster::control::heartbeat, mesh::wire::encode(g)));
  std::this_thread::sleep_for(300ms);
  CHECK(p.host->cluster_members() == names{"caller", "host"});
  // The caller's calls still reach the activations it made (their state was not reset).
  for (int i = 0; i < 50; ++i) {
    auto r = p.caller->call<app::Counter>("k" + std::to_string(i), app::Get{});
    REQUIRE(r.has_value());
    CHECK(r->value == 1);
  }
  // And the host still routes to the caller as a compatible member.
  p.caller->register_capabilities<app::chat>();
  REQUIRE(wait_until([&] { return p.host->nodes_for<app::chat>() == names{"caller"}; }));
  CHECK(p.host->call<app::ChatRoom>("r", app::Post{"u", "hi"}).has_value());
}

TEST_CASE("a heartbeat with a malformed endpoint or a flood of made-up members does not crash a node" * doctest::timeout(60)) {
  auto fds = [] {
    std::size_t n = 0;
    for ([[maybe_unused]] auto const& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  auto hcfg = config("host");
  hcfg.max_peers = 64;
  auto host = std::make_unique<app_node>(hcfg);
  host->register_capabilities<app::game>();
  auto caller = start("caller", {host->endpoint()});
  REQUIRE(converged({host.get(), caller.get()}, {"caller", "host"}, {"host"}));
  auto const fds_before = fds();
  insider spy(host->endpoint());
  mesh::cluster::gossip g;
  g.self = member("weird", "this is not an endpoint", 1);
  spy.send(control_frame(mesh::cluster::control::heartbeat, mesh::wire::encode(g)));
  g.self = member("weird2", "tcp://127.0.0.1:3", 2);
  g.self.capabilities.assign(1000, "cap");  // over the limit of capabilities per member
  spy.send(control_frame(mesh::cluster::control::heartbeat, mesh::wire::encode(g)));
  // 2,000 made-up members, some with malformed endpoints: at most max_peers sockets are opened.
  mesh::cluster::gossip flood;
  flood.self = member("flooder", "tcp://127.0.0.1:4", 3);
  flood.self.capabilities.clear();  // a member that hosts nothing: the game shards stay on host
  for (int i = 0; i < 2000; ++i)
    flood.known.push_back(member("fake" + std::to_string(i),
                                 i % 7 == 0 ? "tcp://:" + std::to_string(i) : "tcp://127.0.0.1:" + std::to_string(20000 + i), 1));
  spy.send(control_frame(mesh::cluster::control::heartbeat, mesh::wire::encode(flood)));
  std::this_thread::sleep_for(500ms);
  // Still serving; "weird" and "weird2" are not members; sockets stayed within max_peers.
  for (int i = 0; i < 20; ++i) REQUIRE(caller->call<app::Counter>("f" + std::to_string(i), app::Add{1}).has_value());
  auto const members = host->cluster_members();
  CHECK(std::find(members.begin(), members.end(), "weird") == members.end());
  CHECK(std::find(members.begin(), members.end(), "weird2") == members.end());
  auto const opened = fds() - fds_before;
  MESSAGE("file descriptors opened by the flood: " << opened);
  CHECK(opened < 4 * hcfg.max_peers);  // a DEALER costs a mailbox fd and a TCP socket at most
}

TEST_CASE("a call whose payload is over max_payload_bytes fails with too_large at once, locally and from the wire" * doctest::timeout(60)) {
  pair_fixture p;
  p.host->register_capabilities<app::chat>();
  REQUIRE(wait_until([&] { return p.caller->nodes_for<app::chat>() == names{"host"}; }));
  std::string big(p.caller->config().max_payload_bytes + 1, 'x');
  auto const t0 = steady::now();
  auto r = p.caller->call<app::ChatRoom>("r", app::Post{"u", big});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::too_large);
  CHECK(elapsed_ms(t0) < 1000);
  auto c = p.caller->cast<app::ChatRoom>("r", app::Post{"u", big});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().code == mesh::errc::too_large);
  auto f = p.caller->call_async<app::ChatRoom>("r", app::Post{"u", big}).get();
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().code == mesh::errc::too_large);

  // A peer that sends one anyway gets too_large back (its header names the request).
  auto cfg = config("small", {p.host->endpoint()});
  cfg.max_payload_bytes = 1024;
  auto small = std::make_unique<app_node>(cfg);
  auto call = counter_call("x", 1, mesh::wire::encode(std::string(4000, 'y')));
  call.h.actor = "room";
  call.h.message_index = 0;
  auto answer = raw_request(small->endpoint(), call);
  REQUIRE(answer.has_value());
  CHECK(answer->h.k == mesh::wire::kind::error);
  CHECK(answer->h.code == mesh::errc::too_large);
  // A malformed body whose header is readable gets bad_message, not silence.
  auto junk = counter_call("x", 0, std::string("\xc1", 1));
  auto bad = raw_request(small->endpoint(), junk);
  REQUIRE(bad.has_value());
  CHECK(bad->h.code == mesh::errc::bad_message);
}

TEST_CASE("bad frames are logged with the peer, at most once a second" * doctest::timeout(60)) {
  log_sink sink;
  auto cfg = config("host");
  cfg.logger = sink.logger();
  auto host = std::make_unique<app_node>(cfg);
  insider spy(host->endpoint());
  for (int i = 0; i < 30; ++i) {
    (void)spy.r.d.send(zmq::buffer(std::string("\xc1\xc1", 2)), zmq::send_flags::sndmore);
    (void)spy.r.d.send(zmq::buffer(std::string("\xc1", 1)), zmq::send_flags::none);
  }
  REQUIRE(wait_until([&] { return host->transport_stats().bad_frames >= 30u; }));
  REQUIRE(wait_until([&] { return sink.contains("dropped an undecodable frame from identity 0x"); }));
  std::lock_guard lk(sink.m);
  auto n = std::count_if(sink.lines.begin(), sink.lines.end(), [](auto const& l) { return l.find("dropped an undecodable frame") != std::string::npos; });
  CHECK(n <= 2);  // 30 bad frames within a second: one line (two if the second turned)
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("logging");

TEST_CASE("a node's logger receives each line's level, and log_level drops the lines below it" * doctest::timeout(60)) {
  struct captured {
    std::mutex m;
    std::vector<std::pair<mesh::log_level, std::string>> lines;
    bool has(mesh::log_level l, std::string_view text) {
      std::lock_guard lk(m);
      for (auto const& [lv, s] : lines)
        if (lv == l && s.find(text) != std::string::npos) return true;
      return false;
    }
    bool any(std::string_view text) {
      std::lock_guard lk(m);
      for (auto const& [lv, s] : lines)
        if (s.find(text) != std::string::npos) return true;
      return false;
    }
  } quiet, chatty;
  auto qcfg = config("quiet");
  qcfg.log_level = mesh::log_level::warning;
  qcfg.logger = [&](mesh::log_level l, std::string_view s) {
    std::lock_guard lk(quiet.m);
    quiet.lines.emplace_back(l, std::string(s));
  };
  auto q = std::make_unique<app_node>(qcfg);
  auto ccfg = config("chatty", {q->endpoint()});
  ccfg.logger = [&](mesh::log_level l, std::string_view s) {
    std::lock_guard lk(chatty.m);
    chatty.lines.emplace_back(l, std::string(s));
  };
  auto c = std::make_unique<app_node>(ccfg);
  REQUIRE(converged({q.get(), c.get()}, {"chatty", "quiet"}, {}));
  // Joins are info: the chatty node (default level info) logs one, the quiet one (warning) none.
  REQUIRE(wait_until([&] { return chatty.has(mesh::log_level::info, "member 'quiet' joined"); }));
  CHECK_FALSE(quiet.any("joined"));
  // A bad frame is a warning: both levels let it through.
  insider spy(q->endpoint());
  (void)spy.r.d.send(zmq::buffer(std::string("\xc1", 1)), zmq::send_flags::sndmore);
  (void)spy.r.d.send(zmq::buffer(std::string("\xc1", 1)), zmq::send_flags::none);
  REQUIRE(wait_until([&] { return quiet.has(mesh::log_level::warning, "dropped an undecodable frame"); }));
}

TEST_SUITE_END();
