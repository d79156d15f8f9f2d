// Remote call benchmark: two OS processes on loopback, 64-byte payload.
//   mesh: a client node calls an Echo actor hosted by a server node (another process); also as
//         mesh_workers (the server runs the handler on a worker) and mesh_no_spin (the client's
//         waiting callers sleep at once: node_config::reply_spin = 0).
//   raw:  cppzmq DEALER -> ROUTER echo with the same frames (header + payload), the transport floor.
//   caf:  (when built with the C++ Actor Framework 0.17, libcaf-dev: MESH_BENCH_HAVE_CAF) a
//         scoped_actor requests an echo actor that another process published through CAF's
//         middleman (BASP over TCP); the reply is checked to be the 64-byte payload.
// Reports sequential p50/p99 latency and calls/s, and pipelined throughput with 16 and 256
// outstanding requests, as JSON with mesh/raw and mesh/caf ratios.
//
// Each of the three cases is timed the same way for every system (benchmarks/common/timed.hpp):
// rounds of 1,000 sequential calls, or of 10,000 calls with the window kept full, repeat until
// --duration seconds (default 2) of wall-clock time have passed, at least one whole round; the
// rate is calls / time inside the rounds and the percentiles cover every call of the run. Each
// run spawns a fresh server process per system (raw, mesh, caf in turn) and warms it with 1,000
// calls. The JSON records the rounds and calls of every run next to each figure.
//   mesh_bench_remote [--runs N] [--duration SECONDS] [--quick] [--no-caf] [--caf-scheduler stealing|sharing]
#include <mesh/mesh.hpp>

#include "../common/timed.hpp"

#include <zmq_addon.hpp>  // zmq::recv_multipart (the raw cppzmq peer)

#ifdef MESH_BENCH_HAVE_CAF
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

struct echo_cap : mesh::capability<"echo"> {};
struct Blob {
  BOOST_HANA_DEFINE_STRUCT(Blob, (std::string, data));
};
struct Echo {
  static constexpr mesh::fixed_string name = "echo";
  using capability = echo_cap;
  using messages = mesh::list<Blob>;
  explicit Echo(std::string_view) {}
  Blob handle(Blob const& b) { return b; }
};
using bench_app = mesh::schema<Echo>;

namespace {
volatile std::sig_atomic_t g_stop = 0;
std::string g_caf_scheduler = "stealing";  // --caf-scheduler; forked servers inherit it

struct pipe_fds {
  int r, w;
};

// ---- server processes --------------------------------------------------------------------
int run_mesh_server(int fd, bool io_thread_runs_handlers) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  mesh::node_config cfg{.name = "server", .listen = "tcp://127.0.0.1:*", .logger = [](std::string_view) {}};
  cfg.io_thread_runs_handlers = io_thread_runs_handlers;
  mesh::node<bench_app> n{cfg};
  n.register_capabilities<echo_cap>();
  std::string ep = n.endpoint() + "\n";
  if (write(fd, ep.data(), ep.size()) < 0) return 1;
  while (!g_stop) std::this_thread::sleep_for(10ms);
  return 0;
}

int run_raw_server(int fd) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  zmq::context_t ctx(1);
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
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

#ifdef MESH_BENCH_HAVE_CAF
// CAF: as many scheduler threads as mesh's workers (node_config::workers = 0: hardware
// concurrency), the middleman (its own I/O thread) loaded; everything else CAF's defaults.
struct caf_config : caf::actor_system_config {
  caf_config() {
    load<caf::io::middleman>();
    set("scheduler.max-threads", static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
    set("scheduler.policy", g_caf_scheduler == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  }
};

caf::behavior caf_echo() {
  return {[](std::string const& s) -> std::string { return s; }};  // a copy, as Echo returns one
}

// Prints the published port (not an endpoint) on the pipe.
int run_caf_server(int fd) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  caf_config cfg;
  caf::actor_system sys{cfg};
  auto echo = sys.spawn(caf_echo);
  auto port = sys.middleman().publish(echo, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "caf server: publish failed: " << sys.render(port.error()) << "\n";
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::string ep = std::to_string(*port) + "\n";
  if (write(fd, ep.data(), ep.size()) < 0) return 1;
  while (!g_stop) std::this_thread::sleep_for(10ms);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return 0;
}
#endif

template <class F>
std::pair<pid_t, std::string> spawn_server(F f) {
  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    _exit(f(fds[1]));
  }
  close(fds[1]);
  std::string ep;
  char c;
  while (read(fds[0], &c, 1) == 1 && c != '\n') ep.push_back(c);
  close(fds[0]);
  return {pid, ep};
}

void stop_server(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

struct figures {
  double seq_calls_per_s = 0, p50_us = 0, p99_us = 0, pipe16 = 0, pipe256 = 0;
  mesh_bench::timed_totals seq_work, pipe16_work, pipe256_work;
  int errors = 0;  // failed or wrong replies (mesh and caf check them)
};

/// Calls per round: small enough that the duration, not the round, sets a run's length even for
/// the slowest system (~3,000 sequential calls/s on the development VM).
struct round_sizes {
  int sequential = 1'000;
  int pipelined = 10'000;
};

// ---- clients -------------------------------------------------------------------------------
template <class Call, class Async>
figures measure(Call&& call, Async&& async_window, round_sizes z, double duration_s) {
  using mesh_bench::round_result;
  using mesh_bench::seconds_since;
  figures f;
  for (int i = 0; i < 1000; ++i) call();  // warm up
  mesh_bench::latency_histogram lat;
  f.seq_work = mesh_bench::run_for(duration_s, [&] {
    auto const t0 = bench_clock::now();
    for (int i = 0; i < z.sequential; ++i) {
      auto const a = bench_clock::now();
      call();
      lat.record(std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - a).count());
    }
    return round_result{static_cast<std::uint64_t>(z.sequential), seconds_since(t0)};
  });
  f.seq_calls_per_s = f.seq_work.rate();
  f.p50_us = lat.quantile(0.50) / 1e3;
  f.p99_us = lat.quantile(0.99) / 1e3;
  for (int window : {16, 256}) {
    auto& work = window == 16 ? f.pipe16_work : f.pipe256_work;
    work = mesh_bench::run_for(duration_s, [&] {
      auto const t0 = bench_clock::now();
      async_window(window, z.pipelined);
      return round_result{static_cast<std::uint64_t>(z.pipelined), seconds_since(t0)};
    });
    (window == 16 ? f.pipe16 : f.pipe256) = work.rate();
  }
  return f;
}

figures bench_mesh(std::string const& ep, std::string const& payload, round_sizes z, double duration_s,
                   std::chrono::microseconds reply_spin) {
  mesh::node<bench_app> n{mesh::node_config{.name = "client",
                                            .listen = "tcp://127.0.0.1:*",
                                            .seeds = {ep},
                                            .reply_spin = reply_spin,
                                            .logger = [](std::string_view) {}}};
  auto until = bench_clock::now() + 10s;
  while (n.nodes_for<echo_cap>().empty() && bench_clock::now() < until) std::this_thread::sleep_for(5ms);
  int errors = 0;
  auto call = [&] {
    auto r = n.call<Echo>("e1", Blob{payload});
    if (!r || r->value.data.size() != payload.size()) ++errors;
  };
  auto window = [&](int w, int total) {
    std::deque<mesh::future<Blob>> q;
    for (int i = 0; i < total; ++i) {
      if (static_cast<int>(q.size()) >= w) {
        if (!q.front().get()) ++errors;
        q.pop_front();
      }
      q.push_back(n.call_async<Echo>("e1", Blob{payload}));
    }
    for (auto& f : q)
      if (!f.get()) ++errors;
  };
  auto f = measure(call, window, z, duration_s);
  if (errors) std::cerr << "mesh: " << errors << " failed calls\n";
  f.errors = errors;
  return f;
}

#ifdef MESH_BENCH_HAVE_CAF
figures bench_caf(std::string const& port, std::string const& payload, round_sizes z, double duration_s) {
  caf_config cfg;
  caf::actor_system sys{cfg};
  figures failed;
  failed.errors = 1;
  if (port.empty()) return failed;
  auto server = sys.middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(std::stoul(port)));
  if (!server) {
    std::cerr << "caf: remote_actor failed: " << sys.render(server.error()) << "\n";
    return failed;
  }
  caf::actor const echo = *server;
  caf::scoped_actor self{sys};
  int errors = 0;
  auto on_reply = [&](std::string const& r) {
    if (r != payload) ++errors;
  };
  auto on_error = [&](caf::error& e) {
    if (errors++ == 0) std::cerr << "caf: first failed call: " << sys.render(e) << "\n";
  };
  // No per-request timeout (caf::infinite): CAF then arms no timer for the request.
  auto call = [&] { self->request(echo, caf::infinite, payload).receive(on_reply, on_error); };
  using handle = decltype(self->request(echo, caf::infinite, payload));
  auto window = [&](int w, int total) {
    std::deque<handle> q;
    for (int i = 0; i < total; ++i) {
      if (static_cast<int>(q.size()) >= w) {
        q.front().receive(on_reply, on_error);
        q.pop_front();
      }
      q.push_back(self->request(echo, caf::infinite, payload));
    }
    for (auto& h : q) h.receive(on_reply, on_error);
  };
  auto f = measure(call, window, z, duration_s);
  if (errors) std::cerr << "caf: " << errors << " failed calls\n";
  f.errors = errors;
  return f;
}
#endif

figures bench_raw(std::string const& ep, std::string const& payload, round_sizes z, double duration_s) {
  zmq::context_t ctx(1);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
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

int main(int argc, char** argv) {
  int runs = 5;
  double duration_s = mesh_bench::default_duration_s;
  bool quick = false, duration_given = false;
  round_sizes z;
  bool caf = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--duration") && i + 1 < argc && mesh_bench::parse_seconds(argv[i + 1])) {
      duration_s = *mesh_bench::parse_seconds(argv[++i]);
      duration_given = true;
    } else if (!std::strcmp(argv[i], "--no-caf")) {
      caf = false;
    } else if (!std::strcmp(argv[i], "--caf-scheduler") && i + 1 < argc &&
               (!std::strcmp(argv[i + 1], "stealing") || !std::strcmp(argv[i + 1], "sharing"))) {
      g_caf_scheduler = argv[++i];
    } else {
      std::cerr << "usage: mesh_bench_remote [--runs N] [--duration SECONDS] [--quick] [--no-caf] "
                   "[--caf-scheduler stealing|sharing]\n"
                   "  --duration S  wall-clock seconds of each case per run and system (default 2; 0.1 with --quick)\n"
                   "  --quick       1 run, rounds of 100 sequential / 1,000 pipelined calls, short duration\n";
      return 2;
    }
  }
  if (quick) {  // a smoke run: an explicit --runs or --duration still wins
    bool runs_given = false;
    for (int i = 1; i < argc; ++i) runs_given = runs_given || !std::strcmp(argv[i], "--runs");
    if (!runs_given) runs = 1;
    if (!duration_given) duration_s = mesh_bench::quick_duration_s;
    z = round_sizes{100, 1'000};
  }
#ifndef MESH_BENCH_HAVE_CAF
  caf = false;
  (void)caf;
#endif
  std::string const payload(64, 'x');
  // "mesh": default configuration (the server's I/O thread runs the echo handler itself);
  // "mesh_workers": the server sets node_config::io_thread_runs_handlers = false (a worker runs it).
  // "mesh_no_spin": default server; the client sets node_config::reply_spin = 0 (a caller sleeps
  // at once while it waits for a reply, as the raw client does in zmq_recv).
  std::vector<figures> mesh_runs, mesh_workers_runs, mesh_no_spin_runs, raw_runs, caf_runs;
  auto progress = [](char const* sys, int r, figures const& f) {
    std::fprintf(stderr, "[bench] remote/%s run %d: sequential %.0f calls/s (%zu rounds), p50 %.1f us; "
                 "16 outstanding %.0f calls/s (%zu rounds); 256 outstanding %.0f calls/s (%zu rounds)\n",
                 sys, r + 1, f.seq_calls_per_s, f.seq_work.rounds, f.p50_us, f.pipe16, f.pipe16_work.rounds, f.pipe256,
                 f.pipe256_work.rounds);
  };
  for (int r = 0; r < runs; ++r) {
    auto [rp, rep] = spawn_server(run_raw_server);
    raw_runs.push_back(bench_raw(rep, payload, z, duration_s));
    stop_server(rp);
    progress("raw_cppzmq", r, raw_runs.back());
    // A fresh mesh server process per configuration: its I/O thread runs handlers or not; the
    // client's reply_spin.
    auto mesh_run = [&](char const* name, std::vector<figures>& out, bool inline_handlers,
                        std::chrono::microseconds reply_spin) {
      auto [pid, ep] = spawn_server([inline_handlers](int fd) { return run_mesh_server(fd, inline_handlers); });
      out.push_back(bench_mesh(ep, payload, z, duration_s, reply_spin));
      stop_server(pid);
      progress(name, r, out.back());
    };
    auto const default_spin = mesh::node_config{}.reply_spin;
    mesh_run("mesh", mesh_runs, true, default_spin);
    mesh_run("mesh_workers", mesh_workers_runs, false, default_spin);
    mesh_run("mesh_no_spin", mesh_no_spin_runs, true, std::chrono::microseconds(0));
#ifdef MESH_BENCH_HAVE_CAF
    if (caf) {
      auto [cp, cport] = spawn_server(run_caf_server);
      caf_runs.push_back(bench_caf(cport, payload, z, duration_s));
      stop_server(cp);
      progress("caf", r, caf_runs.back());
    }
#endif
  }
  // {"median": .., "min": .., "max": .., "runs": [..], "duration_s": .., "rounds": [..], ...}
  auto pick = [&](std::vector<figures> const& v, double figures::*m, mesh_bench::timed_totals figures::*w) {
    std::vector<double> xs;
    mesh_bench::work_log log{duration_s, {}, {}, {}};
    for (auto const& f : v) {
      xs.push_back(f.*m);
      log.add(f.*w);
    }
    auto const s = mesh_bench::summarize(xs);
    std::string runs_list;
    for (double x : s.runs) runs_list += (runs_list.empty() ? "" : ", ") + mesh_bench::json_number(x);
    return std::pair{s.median, "{\"median\": " + mesh_bench::json_number(s.median) + ", \"min\": " +
                                   mesh_bench::json_number(s.min) + ", \"max\": " + mesh_bench::json_number(s.max) +
                                   ", \"runs\": [" + runs_list + "], " + log.json_fields() + "}"};
  };
  auto failed = [](std::vector<figures> const& v) {
    int n = 0;
    for (auto const& f : v) n += f.errors;
    return n;
  };
  struct metric {
    char const* name;
    double figures::*m;
    mesh_bench::timed_totals figures::*work;  // the case the figure comes from
  } metrics[] = {{"sequential_calls_per_s", &figures::seq_calls_per_s, &figures::seq_work},
                 {"sequential_p50_us", &figures::p50_us, &figures::seq_work},
                 {"sequential_p99_us", &figures::p99_us, &figures::seq_work},
                 {"pipelined_16_calls_per_s", &figures::pipe16, &figures::pipe16_work},
                 {"pipelined_256_calls_per_s", &figures::pipe256, &figures::pipe256_work}};
  std::cout << "{\n  \"benchmark\": \"remote_call\",\n  \"payload_bytes\": 64,\n  \"runs\": " << runs
            << ",\n  \"quick\": " << (quick ? "true" : "false") << ",\n  \"duration_s\": "
            << mesh_bench::json_number(duration_s) << ",\n  \"calls_per_round\": {\"sequential\": " << z.sequential
            << ", \"pipelined\": " << z.pipelined << "},\n  \"duration_rule\": \"every case of every system repeats "
            << "its round until duration_s of wall-clock time have passed, at least one whole round; rate = calls / "
            << "time inside the rounds; percentiles over every call of the run\",\n  \"cores\": "
            << std::thread::hardware_concurrency() << ",\n  \"compiler\": \"" << __VERSION__ << "\",\n";
#ifdef MESH_BENCH_HAVE_CAF
  std::cout << "  \"caf\": {\"available\": true, \"version\": \"" << CAF_MAJOR_VERSION << '.' << CAF_MINOR_VERSION << '.'
            << CAF_PATCH_VERSION << "\", \"ran\": " << (caf ? "true" : "false") << ", \"scheduler_policy\": \""
            << g_caf_scheduler << "\", \"transport\": \"caf::io::middleman (BASP over TCP), publish/remote_actor on "
            << "127.0.0.1; scoped_actor request(echo, infinite, std::string) and receive; scheduler.max-threads = "
            << "hardware concurrency in both processes\"},\n";
#else
  std::cout << "  \"caf\": {\"available\": false, \"note\": \"built without the C++ Actor Framework (libcaf-dev, "
            << "CAF 0.17 not found at configure time): every \\\"caf\\\" figure is null\"},\n";
#endif
  double ratios[5], workers_ratios[5], no_spin_ratios[5];
  for (int i = 0; i < 5; ++i) {
    auto [mm, ms] = pick(mesh_runs, metrics[i].m, metrics[i].work);
    auto [wm, ws] = pick(mesh_workers_runs, metrics[i].m, metrics[i].work);
    auto [nm, ns] = pick(mesh_no_spin_runs, metrics[i].m, metrics[i].work);
    auto [rm, rs] = pick(raw_runs, metrics[i].m, metrics[i].work);
    ratios[i] = rm > 0 ? mm / rm : 0;
    workers_ratios[i] = rm > 0 ? wm / rm : 0;
    no_spin_ratios[i] = rm > 0 ? nm / rm : 0;
    std::cout << "  \"" << metrics[i].name << "\": {\n    \"mesh\": " << ms << ",\n    \"mesh_workers\": " << ws
              << ",\n    \"mesh_no_spin\": " << ns << ",\n    \"raw_cppzmq\": " << rs
              << ",\n    \"mesh_workers_over_raw\": " << workers_ratios[i]
              << ",\n    \"mesh_no_spin_over_raw\": " << no_spin_ratios[i];
    if (!caf_runs.empty()) {
      auto [cm, cs] = pick(caf_runs, metrics[i].m, metrics[i].work);
      std::cout << ",\n    \"caf\": " << cs;
      std::cout << ",\n    \"mesh_over_raw\": " << ratios[i] << ", \"mesh_over_caf\": " << (cm > 0 ? mm / cm : 0) << "},\n";
    } else {
      std::cout << ",\n    \"caf\": null, \"mesh_over_raw\": " << ratios[i] << ", \"mesh_over_caf\": null},\n";
    }
  }
  int const mesh_failed = failed(mesh_runs) + failed(mesh_workers_runs) + failed(mesh_no_spin_runs),
            caf_failed = failed(caf_runs);
  std::cout << "  \"failed_calls\": {\"mesh\": " << mesh_failed << ", \"caf\": ";
  if (caf_runs.empty()) std::cout << "null";
  else std::cout << caf_failed;
  std::cout << "},\n";
  auto const mp50 = pick(mesh_runs, &figures::p50_us, &figures::seq_work).first;
  auto const wp50 = pick(mesh_workers_runs, &figures::p50_us, &figures::seq_work).first;
  auto const np50 = pick(mesh_no_spin_runs, &figures::p50_us, &figures::seq_work).first;
  auto const rp50 = pick(raw_runs, &figures::p50_us, &figures::seq_work).first;
  auto targets = [&](double const* r, double p50) {
    return std::string("{\"pipelined_at_least_70pct_of_raw\": ") + (r[3] >= 0.7 && r[4] >= 0.7 ? "true" : "false") +
           ", \"sequential_p50_within_raw_plus_15us\": " + (p50 <= rp50 + 15 ? "true" : "false") + "}";
  };
  std::cout << "  \"targets\": " << targets(ratios, mp50) << ",\n  \"targets_mesh_workers\": "
            << targets(workers_ratios, wp50) << ",\n  \"targets_mesh_no_spin\": " << targets(no_spin_ratios, np50)
            << "\n}\n";
  return mesh_failed == 0 && caf_failed == 0 ? 0 : 1;
}
