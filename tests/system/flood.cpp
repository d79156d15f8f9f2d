// mesh_test_flood: a process that floods a node with calls and never reads the replies, started
// by the system tests (docs/security.md, "Memory under a flood").
//
//   mesh_test_flood --endpoint EP [--connections N] [--calls K] [--reply-kib R] [--outsider]
//
// Opens N DEALERs to EP (raising RLIMIT_NOFILE as far as the hard limit lets it), holding the
// cluster key pair (an insider; --outsider: a key pair of its own, not admitted). First it makes
// room "flood" hold about R KiB of history (one Post, whose reply it reads), then every DEALER
// sends K History calls (each reply is about R KiB) and reads nothing. It prints
// "FLOODING <connections opened> <calls sent>" and waits until stdin closes (or SIGTERM), then
// prints "RECEIVED <messages that reached it>", closes every connection at once and exits 0.
#include "app_schema.hpp"

#include <mesh/transport/curve.hpp>
#include <mesh/wire/codec.hpp>
#include <mesh/wire/frame.hpp>

#include <zmq.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

struct options {
  std::string endpoint;
  long connections = 2000;
  long calls = 8;
  long reply_kib = 16;
  bool outsider = false;
};

[[noreturn]] void usage(char const* why) {
  std::fprintf(stderr, "mesh_test_flood: %s\nusage: mesh_test_flood --endpoint EP [--connections N] [--calls K] "
                       "[--reply-kib R] [--outsider]\n", why);
  std::exit(2);
}

mesh::wire::frame room_call(std::uint32_t message_index, std::string body) {
  mesh::wire::frame f;
  f.h.k = mesh::wire::kind::call;
  f.h.request_id = 1;
  f.h.fingerprint = mesh::wire::fingerprint_v<app::schema>;
  f.h.actor = "room";
  f.h.id = "flood";
  f.h.message_index = message_index;  // ChatRoom: Post 0, History 1
  f.h.timeout_ms = 60000;
  f.body.push_back(std::move(body));
  return f;
}

bool send_frame(zmq::socket_t& d, std::vector<std::string> const& parts) {
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto flags = zmq::send_flags::dontwait;
    if (i + 1 < parts.size()) flags = flags | zmq::send_flags::sndmore;
    if (!d.send(zmq::buffer(parts[i]), flags)) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--endpoint") o.endpoint = value();
    else if (a == "--connections") o.connections = std::stol(value());
    else if (a == "--calls") o.calls = std::stol(value());
    else if (a == "--reply-kib") o.reply_kib = std::stol(value());
    else if (a == "--outsider") o.outsider = true;
    else usage(("unknown argument " + a).c_str());
  }
  if (o.endpoint.empty()) usage("--endpoint is required");

  // Each DEALER costs two descriptors here (its TCP connection and its mailbox).
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  long const fit = static_cast<long>(lim.rlim_cur > 64 ? (lim.rlim_cur - 64) / 2 : 0);
  if (o.connections > fit) o.connections = fit;

  zmq::context_t ctx;
  ctx.set(zmq::ctxopt::max_sockets, static_cast<int>(o.connections + 16));
  auto const secret = mesh::transport::resolve_cluster_secret("");
  if (!secret) {
    std::fprintf(stderr, "mesh_test_flood: %s\n", secret.error().message.c_str());
    return 1;
  }
  auto const cluster = mesh::transport::keys_from_secret(*secret).value();
  auto const own = mesh::transport::keys_from_secret(mesh::generate_cluster_secret()).value();
  auto const& client = o.outsider ? own : cluster;
  auto make = [&] {
    zmq::socket_t d(ctx, zmq::socket_type::dealer);
    d.set(zmq::sockopt::linger, 0);
    // Read as little as possible: what the node sends stays queued on its side.
    d.set(zmq::sockopt::rcvhwm, 1);
    d.set(zmq::sockopt::rcvbuf, 4096);
    d.set(zmq::sockopt::curve_serverkey, cluster.public_z85);
    d.set(zmq::sockopt::curve_publickey, client.public_z85);
    d.set(zmq::sockopt::curve_secretkey, client.secret_z85);
    d.connect(o.endpoint);
    return d;
  };

  if (!o.outsider) {  // the room's history, so that every History reply is about reply_kib
    auto d = make();
    d.set(zmq::sockopt::rcvtimeo, 10000);
    app::Post p{"flood", std::string(static_cast<std::size_t>(o.reply_kib) * 1024, 'x')};
    send_frame(d, mesh::wire::encode_frame(room_call(0, mesh::wire::encode(p))));
    zmq::message_t m;
    if (!d.recv(m)) {
      std::fprintf(stderr, "mesh_test_flood: no reply to the Post\n");
      return 1;
    }
  }

  std::vector<zmq::socket_t> dealers;
  dealers.reserve(static_cast<std::size_t>(o.connections));
  auto const history = mesh::wire::encode_frame(room_call(1, mesh::wire::encode(app::History{})));
  long opened = 0, sent = 0;
  try {
    for (long i = 0; i < o.connections; ++i) {
      dealers.push_back(make());
      ++opened;
    }
  } catch (zmq::error_t const& e) {
    std::fprintf(stderr, "mesh_test_flood: stopped opening at %ld connections: %s\n", opened, e.what());
  }
  for (long k = 0; k < o.calls; ++k)
    for (auto& d : dealers) sent += send_frame(d, history) ? 1 : 0;
  std::printf("FLOODING %ld %ld\n", opened, sent);
  std::fflush(stdout);

  char buf[64];
  while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  // Whatever reached us (an outsider must get nothing), then every connection closes at once.
  long received = 0;
  for (auto& d : dealers) {
    zmq::message_t m;
    while (d.recv(m, zmq::recv_flags::dontwait)) ++received;
  }
  std::printf("RECEIVED %ld\n", received);
  std::fflush(stdout);
  dealers.clear();  // linger 0
  return 0;
}
