// transport/zap.hpp with real sockets on loopback TCP, in the key scheme of API.md §5: a CURVE
// server ROUTER holding the cluster secret, a zap_handler in its context admitting the cluster
// public key (and authorized node keys), and DEALER clients in contexts of their own.
#include <mesh/transport/curve.hpp>
#include <mesh/transport/zap.hpp>

#include <doctest/doctest.h>
#include <zmq.h>
#include <zmq.hpp>

#include <array>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using mesh::transport::curve_keys;
using mesh::transport::zap_handler;

/// How long a message that should arrive may take; generous for a loaded 2-core machine.
constexpr auto arrival_deadline = 5s;
/// How long we listen to conclude that nothing arrives (the brief's 500 ms).
constexpr auto silence = 500ms;

curve_keys fresh_keys() { return *mesh::transport::keys_from_secret(mesh::generate_cluster_secret()); }

std::string text_of(zmq::message_t const& m) { return std::string(m.data<char>(), m.size()); }

/// One multipart message from `s` within `deadline`, or nothing.
std::optional<std::vector<zmq::message_t>> recv_within(zmq::socket_t& s, std::chrono::milliseconds deadline) {
  auto const until = steady::now() + deadline;
  for (;;) {
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
    if (left.count() <= 0) return std::nullopt;
    zmq_pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, static_cast<long>(left.count())) <= 0) continue;
    std::vector<zmq::message_t> parts;
    for (;;) {
      zmq::message_t m;
      if (!s.recv(m, zmq::recv_flags::dontwait)) break;
      bool const more = m.more();
      parts.push_back(std::move(m));
      if (!more) return parts;
    }
    if (!parts.empty()) return parts;
  }
}

/// Waits at most arrival_deadline for `pred`.
template <class Pred>
bool eventually(Pred pred) {
  auto const until = steady::now() + arrival_deadline;
  while (!pred()) {
    if (steady::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// A CURVE server as a member binds it: the zap_handler first, then the ROUTER.
struct curve_server {
  explicit curve_server(curve_keys const& cluster, std::vector<std::string> admitted,
                        zap_handler::refused_callback on_refused = {})
      : zap(ctx, std::move(admitted), std::move(on_refused)), router(ctx, zmq::socket_type::router) {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::curve_server, 1);
    router.set(zmq::sockopt::curve_secretkey, cluster.secret_z85);
    router.bind("tcp://127.0.0.1:*");
    address = router.get(zmq::sockopt::last_endpoint);
  }

  /// Reads one request within `deadline`, answers it with the same payload and returns the
  /// payload's "User-Id"; nothing when no request came.
  std::optional<std::string> echo_one(std::chrono::milliseconds deadline) {
    auto parts = recv_within(router, deadline);
    if (!parts) return std::nullopt;
    REQUIRE(parts->size() == 2);
    char const* user = (*parts)[1].gets("User-Id");
    std::string user_id = user != nullptr ? user : "";
    router.send((*parts)[0], zmq::send_flags::sndmore);
    router.send((*parts)[1], zmq::send_flags::none);
    return user_id;
  }

  zmq::context_t ctx;
  zap_handler zap;
  zmq::socket_t router;
  std::string address;
};

/// A member's DEALER: its own context, server key = the cluster public key, client key pair
/// `own` (the cluster pair or a node's own). Without keys: a plain (NULL mechanism) client.
struct client {
  client(std::string const& address, std::optional<std::string> server_public, std::optional<curve_keys> own)
      : dealer(ctx, zmq::socket_type::dealer) {
    dealer.set(zmq::sockopt::linger, 0);
    if (server_public && own) {
      dealer.set(zmq::sockopt::curve_serverkey, *server_public);
      dealer.set(zmq::sockopt::curve_publickey, own->public_z85);
      dealer.set(zmq::sockopt::curve_secretkey, own->secret_z85);
    }
    dealer.connect(address);
  }
  /// Sends `payload` and returns the echo, if one comes within `deadline`.
  std::optional<std::string> round_trip(std::string const& payload, std::chrono::milliseconds deadline) {
    dealer.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    auto parts = recv_within(dealer, deadline);
    if (!parts || parts->size() != 1) return std::nullopt;
    return text_of((*parts)[0]);
  }

  zmq::context_t ctx;
  zmq::socket_t dealer;
};

std::chrono::milliseconds ms(auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); }

/// Client and server in one thread: the client's message is queued until its handshake ends,
/// so the server reads first, then the client reads the echo.
std::optional<std::string> echo_through(curve_server& server, client& c, std::string const& payload,
                                        std::optional<std::string>* user_id = nullptr) {
  c.dealer.send(zmq::buffer(payload), zmq::send_flags::dontwait);
  auto const user = server.echo_one(ms(arrival_deadline));
  if (user_id != nullptr) *user_id = user;
  if (!user) return std::nullopt;
  auto parts = recv_within(c.dealer, ms(arrival_deadline));
  if (!parts || parts->size() != 1) return std::nullopt;
  return text_of((*parts)[0]);
}

}  // namespace

TEST_CASE("zap_handler admits a client holding the cluster key pair and names it in User-Id") {
  auto const cluster = fresh_keys();
  curve_server server(cluster, {cluster.public_z85});
  client member(server.address, cluster.public_z85, cluster);

  std::optional<std::string> user;
  CHECK(echo_through(server, member, "ping", &user) == std::optional<std::string>("ping"));
  CHECK(user == std::optional<std::string>(cluster.public_z85));
  CHECK(server.zap.admitted_count() == 1);
  CHECK(server.zap.refused_count() == 0);
}

TEST_CASE("zap_handler admits a node key listed beside the cluster key") {
  auto const cluster = fresh_keys();
  auto const node = fresh_keys();
  curve_server server(cluster, {cluster.public_z85, node.public_z85});
  client member(server.address, cluster.public_z85, node);

  std::optional<std::string> user;
  CHECK(echo_through(server, member, "hello", &user) == std::optional<std::string>("hello"));
  CHECK(user == std::optional<std::string>(node.public_z85));
}

TEST_CASE("zap_handler refuses a client whose key is not admitted") {
  auto const cluster = fresh_keys();
  auto const stranger = fresh_keys();
  std::mutex m;
  std::vector<std::pair<std::string, std::string>> refusals;
  curve_server server(cluster, {cluster.public_z85}, [&](std::string_view key, std::string_view address) {
    std::lock_guard lock(m);
    refusals.emplace_back(key, address);
  });
  client outsider(server.address, cluster.public_z85, stranger);
  outsider.dealer.send(zmq::str_buffer("ping"), zmq::send_flags::dontwait);

  CHECK_FALSE(server.echo_one(ms(silence)).has_value());
  CHECK(eventually([&] { return server.zap.refused_count() >= 1; }));
  CHECK_FALSE(recv_within(outsider.dealer, 50ms).has_value());
  CHECK(server.zap.admitted_count() == 0);
  std::lock_guard lock(m);
  REQUIRE_FALSE(refusals.empty());
  CHECK(refusals[0].first == stranger.public_z85);
  CHECK(refusals[0].second == "127.0.0.1");
}

TEST_CASE("zap_handler is never asked about a client that does not speak CURVE, which gets nothing") {
  auto const cluster = fresh_keys();
  curve_server server(cluster, {cluster.public_z85});
  client plain(server.address, std::nullopt, std::nullopt);
  plain.dealer.send(zmq::str_buffer("ping"), zmq::send_flags::dontwait);

  CHECK_FALSE(server.echo_one(ms(silence)).has_value());
  CHECK_FALSE(recv_within(plain.dealer, 50ms).has_value());
  CHECK(server.zap.admitted_count() == 0);
}

TEST_CASE("zap_handler stops a revoked key at its next connection") {
  auto const cluster = fresh_keys();
  auto const node = fresh_keys();
  curve_server server(cluster, {cluster.public_z85, node.public_z85});
  {
    client before(server.address, cluster.public_z85, node);
    REQUIRE(echo_through(server, before, "before") == std::optional<std::string>("before"));
  }
  server.zap.set_admitted({cluster.public_z85});
  CHECK_FALSE(server.zap.is_admitted(node.public_z85));
  CHECK(server.zap.is_admitted(cluster.public_z85));

  client after(server.address, cluster.public_z85, node);
  after.dealer.send(zmq::str_buffer("after"), zmq::send_flags::dontwait);
  CHECK_FALSE(server.echo_one(ms(silence)).has_value());
  CHECK(eventually([&] { return server.zap.refused_count() >= 1; }));

  // The cluster key still gets in.
  client member(server.address, cluster.public_z85, cluster);
  CHECK(echo_through(server, member, "still") == std::optional<std::string>("still"));
}

TEST_CASE("zap_handler answers a malformed request with 500 and keeps serving") {
  auto const cluster = fresh_keys();
  curve_server server(cluster, {cluster.public_z85});
  zmq::socket_t prober(server.ctx, zmq::socket_type::dealer);
  prober.set(zmq::sockopt::linger, 0);
  prober.connect(mesh::transport::zap_endpoint);

  // Envelope and version only.
  prober.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  prober.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  prober.send(zmq::str_buffer("7"), zmq::send_flags::none);
  auto reply = recv_within(prober, ms(arrival_deadline));
  REQUIRE(reply.has_value());
  REQUIRE(reply->size() == 7);
  CHECK(text_of((*reply)[1]) == "1.0");
  CHECK(text_of((*reply)[2]) == "7");
  CHECK(text_of((*reply)[3]) == "500");

  // A CURVE request whose credential is not 32 bytes.
  std::array<std::string, 8> const bad_curve{"", "1.0", "8", "", "127.0.0.1", "", "CURVE", "short"};
  for (std::size_t i = 0; i < bad_curve.size(); ++i)
    prober.send(zmq::buffer(bad_curve[i]), i + 1 < bad_curve.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  reply = recv_within(prober, ms(arrival_deadline));
  REQUIRE(reply.has_value());
  CHECK(text_of((*reply)[3]) == "500");

  // No envelope at all: nobody to answer, dropped.
  prober.send(zmq::str_buffer("garbage"), zmq::send_flags::none);
  CHECK(eventually([&] { return server.zap.malformed_count() == 3; }));

  client member(server.address, cluster.public_z85, cluster);
  CHECK(echo_through(server, member, "ok") == std::optional<std::string>("ok"));
}

TEST_CASE("zap_handler refuses another mechanism than CURVE with 400") {
  auto const cluster = fresh_keys();
  std::mutex m;
  std::vector<std::string> keys_seen;
  curve_server server(cluster, {cluster.public_z85}, [&](std::string_view key, std::string_view) {
    std::lock_guard lock(m);
    keys_seen.emplace_back(key);
  });
  zmq::socket_t prober(server.ctx, zmq::socket_type::dealer);
  prober.set(zmq::sockopt::linger, 0);
  prober.connect(mesh::transport::zap_endpoint);
  std::array<std::string, 9> const plain{"", "1.0", "9", "", "127.0.0.1", "", "PLAIN", "user", "password"};
  for (std::size_t i = 0; i < plain.size(); ++i)
    prober.send(zmq::buffer(plain[i]), i + 1 < plain.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  auto const reply = recv_within(prober, ms(arrival_deadline));
  REQUIRE(reply.has_value());
  REQUIRE(reply->size() == 7);
  CHECK(text_of((*reply)[3]) == "400");
  CHECK(text_of((*reply)[5]).empty());  // no user id
  CHECK(server.zap.refused_count() == 1);
  // The callback runs just after the reply is sent.
  CHECK(eventually([&] {
    std::lock_guard lock(m);
    return keys_seen.size() == 1;
  }));
  std::lock_guard lock(m);
  CHECK(keys_seen.at(0).empty());  // no key: not CURVE
}

TEST_CASE("zap_handler survives an on_refused callback that throws") {
  auto const cluster = fresh_keys();
  curve_server server(cluster, {cluster.public_z85}, [](std::string_view, std::string_view) { throw std::runtime_error("boom"); });
  client outsider(server.address, cluster.public_z85, fresh_keys());
  outsider.dealer.send(zmq::str_buffer("ping"), zmq::send_flags::dontwait);
  CHECK(eventually([&] { return server.zap.refused_count() >= 1; }));

  client member(server.address, cluster.public_z85, cluster);
  CHECK(echo_through(server, member, "ok") == std::optional<std::string>("ok"));
}

TEST_CASE("zap_handler is the only one a context can have") {
  zmq::context_t ctx;
  zap_handler first(ctx, {});
  try {
    zap_handler second(ctx, {});
    FAIL("a second handler bound the ZAP endpoint");
  } catch (mesh::exception const& e) {
    CHECK(e.error().code == mesh::errc::already_exists);
  }
}

TEST_CASE("zap_handler stops promptly when destroyed, and its endpoint can be bound again") {
  zmq::context_t ctx;
  for (int i = 0; i < 3; ++i) {
    auto const start = steady::now();
    { zap_handler h(ctx, {}); }
    CHECK(steady::now() - start < 1s);
  }
}

// Pins the libzmq behaviour that makes the construction order of zap.hpp a requirement: with
// no handler bound, a CURVE server admits any key pair (fail open). If a libzmq upgrade changes
// this, docs/security.md ("libzmq facts") must change with it.
TEST_CASE("a CURVE server without a zap_handler admits any client key (why the handler comes first)") {
  auto const cluster = fresh_keys();
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::curve_server, 1);
  router.set(zmq::sockopt::curve_secretkey, cluster.secret_z85);
  router.bind("tcp://127.0.0.1:*");
  client stranger(router.get(zmq::sockopt::last_endpoint), cluster.public_z85, fresh_keys());
  stranger.dealer.send(zmq::str_buffer("in"), zmq::send_flags::dontwait);
  auto const parts = recv_within(router, ms(arrival_deadline));
  REQUIRE(parts.has_value());
  CHECK(text_of(parts->back()) == "in");
}
