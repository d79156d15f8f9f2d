// The remote-call scenario's transport floor: cppzmq DEALER -> ROUTER echo with the same frames as
// mesh (header + payload), the server decoding the header and building a reply header as a real
// server does. Twice: over plain TCP ("raw_cppzmq", the floor for mesh with insecure = true) and
// over CurveZMQ ("raw_cppzmq_curve", the floor for mesh's default, CURVE on).
#include <mesh/wire/codec.hpp>
#include <mesh/wire/frame.hpp>

#include "scenario.hpp"

#include <zmq.h>  // zmq_curve_keypair
#include <zmq.hpp>
#include <zmq_addon.hpp>  // zmq::recv_multipart

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace remote_bench {
namespace {

/// CURVE keys of the raw echo (Z85): the server's pair and the client's pair.
struct raw_curve_keys {
  std::string server_public, server_secret, client_public, client_secret;
};

std::pair<std::string, std::string> curve_keypair() {
  char pub[41] = {}, sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) throw zmq::error_t();  // libzmq built without CURVE
  return {pub, sec};
}

raw_curve_keys make_raw_curve_keys() {
  auto [sp, ss] = curve_keypair();
  auto [cp, cs] = curve_keypair();
  return {sp, ss, cp, cs};
}

int run_raw_server(int fd, std::optional<raw_curve_keys> const& curve) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  zmq::context_t ctx(1);
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  if (curve) {
    // CURVE server with its secret key. No ZAP handler: libzmq then admits every client that
    // completes the CurveZMQ handshake (a mesh node's ZAP handler checks the client's public key
    // once per connection, at the handshake, outside the timed loops). Enough for a baseline: the
    // per-message cost, encryption and authentication of every frame, is the same.
    router.set(zmq::sockopt::curve_server, 1);
    router.set(zmq::sockopt::curve_secretkey, curve->server_secret);
  }
  router.bind("tcp://127.0.0.1:*");
  std::string ep = router.get(zmq::sockopt::last_endpoint) + "\n";
  if (write(fd, ep.data(), ep.size()) < 0) return 1;
  std::vector<zmq::message_t> parts;
  while (!g_stop) {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
    } catch (zmq::error_t const&) {  // EINTR: SIGTERM arrived
      continue;
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    while (true) {
      parts.clear();
      if (!zmq::recv_multipart(router, std::back_inserter(parts), zmq::recv_flags::dontwait)) break;
      // Same work shape as a real server: decode the header, build a reply header, echo the body.
      std::string_view hv(parts[1].data<char>(), parts[1].size());
      auto h = mesh::wire::decode_header(hv);
      mesh::wire::header rh;
      rh.k = mesh::wire::kind::reply;
      rh.request_id = h ? h->request_id : 0;
      rh.node = "server";
      auto hb = mesh::wire::encode_header(rh);
      router.send(parts[0], zmq::send_flags::sndmore);
      router.send(zmq::buffer(hb), zmq::send_flags::sndmore);
      router.send(parts[2], zmq::send_flags::none);
    }
  }
  return 0;
}

figures bench_raw(std::string const& ep, std::string const& payload, round_sizes z, double duration_s,
                  std::optional<raw_curve_keys> const& curve) {
  zmq::context_t ctx(1);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  if (curve) {  // CURVE client: the server's public key and the client's own pair
    dealer.set(zmq::sockopt::curve_serverkey, curve->server_public);
    dealer.set(zmq::sockopt::curve_publickey, curve->client_public);
    dealer.set(zmq::sockopt::curve_secretkey, curve->client_secret);
  }
  dealer.connect(ep);
  std::uint64_t next_id = 0;
  auto body = mesh::wire::encode(Blob{payload});
  auto send_one = [&] {
    mesh::wire::header h;
    h.k = mesh::wire::kind::call;
    h.request_id = ++next_id;
    h.actor = "echo";
    h.id = "e1";
    h.timeout_ms = 5000;
    auto hb = mesh::wire::encode_header(h);
    dealer.send(zmq::buffer(hb), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(body), zmq::send_flags::none);
  };
  std::vector<zmq::message_t> parts;
  auto recv_one = [&] {
    parts.clear();
    (void)zmq::recv_multipart(dealer, std::back_inserter(parts));
    (void)mesh::wire::decode_header(std::string_view(parts[0].data<char>(), parts[0].size()));
    (void)mesh::wire::decode<Blob>(std::string_view(parts[1].data<char>(), parts[1].size()));
  };
  auto call = [&] {
    send_one();
    recv_one();
  };
  auto window = [&](int w, int total) {
    int inflight = 0;
    for (int i = 0; i < total; ++i) {
      if (inflight >= w) {
        recv_one();
        --inflight;
      }
      send_one();
      ++inflight;
    }
    while (inflight-- > 0) recv_one();
  };
  return measure(call, window, z, duration_s);
}

}  // namespace

system raw_zmq_system(bool curve) {
  // The keys are made here, before any server process is forked: the server inherits them.
  std::optional<raw_curve_keys> keys;
  if (curve) keys = make_raw_curve_keys();
  return {curve ? "raw_cppzmq_curve" : "raw_cppzmq", [keys](int fd) { return run_raw_server(fd, keys); },
          [keys](std::string const& ep, std::string const& payload, round_sizes z, double duration_s) {
            return bench_raw(ep, payload, z, duration_s, keys);
          }};
}

}  // namespace remote_bench
