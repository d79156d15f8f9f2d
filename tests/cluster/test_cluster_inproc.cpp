// Cluster layer, in one process: several mesh::node instances talking over loopback TCP
// (ephemeral ports, no child processes). Remote calls must behave like local ones; pipelining,
// casts, rebalancing and the death of a peer are checked on the real wire.
#include "cluster_fixture.hpp"

#include <doctest/doctest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>  // zmq::recv_multipart

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace cluster_fixture;

TEST_SUITE_BEGIN("cluster");

TEST_CASE("a remote call returns the same values, references and errors as a local call" * doctest::timeout(60)) {
  pair_fixture p;
  auto& host = *p.host;
  auto& caller = *p.caller;

  // Values, init arguments (used only by the activating message) and references.
  auto l1 = host.call(mesh::request<app::Counter, app::Add>{.id = "local", .payload = {5}, .init_arg = app::Start{100}});
  auto r1 = caller.call(mesh::request<app::Counter, app::Add>{.id = "remote", .payload = {5}, .init_arg = app::Start{100}});
  REQUIRE(l1);
  REQUIRE(r1);
  CHECK(l1->value == 105);
  CHECK(r1->value == 105);
  CHECK(l1->ref == mesh::actor_ref{"host", "counter", "local"});
  CHECK(r1->ref == mesh::actor_ref{"host", "counter", "remote"});
  auto l2 = host.call(mesh::request<app::Counter, app::Add>{.id = "local", .payload = {1}, .init_arg = app::Start{7}});
  auto r2 = caller.call(mesh::request<app::Counter, app::Add>{.id = "remote", .payload = {1}, .init_arg = app::Start{7}});
  REQUIRE(l2);
  REQUIRE(r2);
  CHECK(l2->value == 106);
  CHECK(r2->value == 106);
  auto who = caller.call<app::Counter>("remote", app::Whoami{});
  REQUIRE(who);
  CHECK(who->value == "host");

  // A void handler: a reply with only the reference.
  auto lv = host.call<app::Counter>("local", app::Reset{});
  auto rv = caller.call<app::Counter>("remote", app::Reset{});
  REQUIRE(lv);
  REQUIRE(rv);
  CHECK(rv->ref == mesh::actor_ref{"host", "counter", "remote"});
  CHECK(caller.call<app::Counter>("remote", app::Get{})->value == 0);

  // Another reply type (a vector of strings) and another capability once the caller hosts chat.
  caller.register_capabilities({"chat"});
  REQUIRE(wait_until([&] { return host.nodes_for<app::chat>() == names{"caller"}; }));
  REQUIRE(caller.call<app::ChatRoom>("lobby", app::Post{"ann", "hi"}));
  auto hist = host.call<app::ChatRoom>("lobby", app::History{});
  REQUIRE(hist);
  CHECK(hist->value == names{"ann: hi"});
  CHECK(hist->ref.node == "caller");

  // A throwing handler: actor_failed with the exception's text, identical across the wire; the
  // activation is discarded and the next message re-creates it.
  auto lf = host.call<app::Counter>("failing", app::Fail{"boom: disk on fire"});
  REQUIRE(host.call<app::Counter>("failing", app::Add{3}));
  auto rf = caller.call<app::Counter>("failing", app::Fail{"boom: disk on fire"});
  REQUIRE_FALSE(lf);
  REQUIRE_FALSE(rf);
  CHECK(lf.error().code == mesh::errc::actor_failed);
  CHECK(rf.error().code == mesh::errc::actor_failed);
  CHECK(rf.error().message.find("boom: disk on fire") != std::string::npos);
  CHECK(rf.error() == lf.error());
  auto after = caller.call<app::Counter>("failing", app::Get{});
  REQUIRE(after);
  CHECK(after->value == 0);  // re-created with a value-initialized Start

  // A call stuck behind a slow message times out, local or remote, well before the slow one ends.
  auto slow_l = host.call_async<app::Counter>("slow-local", app::Sleep{600});
  auto slow_r = caller.call_async<app::Counter>("slow-remote", app::Sleep{600});
  std::this_thread::sleep_for(50ms);
  auto t0 = steady::now();
  auto lt = host.call<app::Counter>("slow-local", app::Get{}, 150ms);
  long const local_ms = elapsed_ms(t0);
  t0 = steady::now();
  auto rt = caller.call<app::Counter>("slow-remote", app::Get{}, 150ms);
  long const remote_ms = elapsed_ms(t0);
  REQUIRE_FALSE(lt);
  REQUIRE_FALSE(rt);
  CHECK(lt.error().code == mesh::errc::timeout);
  CHECK(rt.error().code == mesh::errc::timeout);
  CHECK(local_ms < 450);
  CHECK(remote_ms < 450);
  CHECK(slow_l.get()->value == 600);
  CHECK(slow_r.get()->value == 600);
  // The late reply of the timed-out remote call is dropped; the connection keeps working.
  CHECK(caller.call<app::Counter>("slow-remote", app::Get{})->value == 0);
}

TEST_CASE("a node answers malformed, unknown and foreign requests from the wire with an error" *
          doctest::timeout(60)) {
  pair_fixture p;
  auto const ep = p.host->endpoint();
  auto const add = mesh::wire::encode(app::Add{4});

  auto ok = raw_request(ep, counter_call("wire", 0, add));
  REQUIRE(ok);
  CHECK(ok->h.k == mesh::wire::kind::reply);
  CHECK(ok->h.request_id == 77);
  CHECK(ok->h.node == "host");

  auto unknown_message = raw_request(ep, counter_call("wire", 99, add));
  REQUIRE(unknown_message);
  CHECK(unknown_message->h.k == mesh::wire::kind::error);
  CHECK(unknown_message->h.code == mesh::errc::bad_message);
  CHECK(unknown_message->h.text.find("#99") != std::string::npos);

  auto wrong_payload = raw_request(ep, counter_call("wire", 0, mesh::wire::encode(std::string("four"))));
  REQUIRE(wrong_payload);
  CHECK(wrong_payload->h.code == mesh::errc::bad_message);

  auto f = counter_call("wire", 0, add);
  f.h.actor = "no-such-actor";
  auto unknown_actor = raw_request(ep, f);
  REQUIRE(unknown_actor);
  CHECK(unknown_actor->h.code == mesh::errc::not_found);

  f = counter_call("wire", 0, add);
  f.h.fingerprint ^= 1;
  auto foreign = raw_request(ep, f);
  REQUIRE(foreign);
  CHECK(foreign->h.code == mesh::errc::schema_mismatch);

  // The activation still has the one valid Add.
  auto g = p.caller->call<app::Counter>("wire", app::Get{});
  REQUIRE(g);
  CHECK(g->value == 4);
}

namespace {
/// Receives on `d` until `want` answers (frames alone or in batches) have come or 3 s passed;
/// `messages` counts the ZeroMQ messages they came in.
std::map<std::uint64_t, mesh::wire::frame> raw_answers(zmq::socket_t& d, std::size_t want, int& messages) {
  std::map<std::uint64_t, mesh::wire::frame> got;
  auto const until = steady::now() + 3s;
  while (got.size() < want && steady::now() < until) {
    std::vector<zmq::message_t> in;
    if (!zmq::recv_multipart(d, std::back_inserter(in))) continue;  // rcvtimeo
    ++messages;
    std::vector<std::string_view> views;
    for (auto& m : in) views.emplace_back(m.data<char>(), m.size());
    auto r = mesh::wire::decode_frame(views);
    REQUIRE(r);
    if (r->h.k != mesh::wire::kind::batch) {
      got[r->h.request_id] = std::move(*r);
      continue;
    }
    mesh::wire::frame scratch;
    REQUIRE(mesh::wire::for_each_batched(*r, scratch, {}, [&](mesh::wire::frame& f) { got[f.h.request_id] = f; }));
  }
  return got;
}

}  // namespace

TEST_CASE("requests in one batch frame are answered as if sent alone, and a bad frame ends only its batch" *
          doctest::timeout(60)) {
  pair_fixture p;
  raw_dealer r(p.host->endpoint(), 200);
  auto& d = r.d;
  auto const add = mesh::wire::encode(app::Add{1});
  auto call = [&](std::uint64_t id, std::string actor_id, std::uint32_t index, std::string const& body) {
    auto f = counter_call(std::move(actor_id), index, body);
    f.h.request_id = id;
    return f;
  };

  // 100 Adds, a Get, and a call to an actor type the node does not have, in one message.
  mesh::wire::frame b;
  mesh::wire::batch_writer::start(b);
  for (std::uint64_t i = 1; i <= 100; ++i) mesh::wire::batch_writer::append(b, call(i, "batched", 0, add));
  mesh::wire::batch_writer::append(b, call(101, "batched", 1, mesh::wire::encode(app::Get{})));
  auto unknown = call(102, "batched", 0, add);
  unknown.h.actor = "no-such-actor";
  mesh::wire::batch_writer::append(b, unknown);
  mesh::wire::batch_writer::finish(b);
  send_raw(d, b);
  int messages = 0;
  auto got = raw_answers(d, 102, messages);
  REQUIRE(got.size() == 102u);
  for (std::uint64_t i = 1; i <= 100; ++i) {
    REQUIRE(got[i].h.k == mesh::wire::kind::reply);
    CHECK(got[i].h.node == "host");
    CHECK(mesh::wire::decode<long>(got[i].body[0]).value() == static_cast<long>(i));  // in order, each once
  }
  CHECK(mesh::wire::decode<long>(got[101].body[0]).value() == 100);
  CHECK(got[102].h.k == mesh::wire::kind::error);
  CHECK(got[102].h.code == mesh::errc::not_found);
  // The answers of handlers that ran together came back together (io_thread_runs_handlers).
  MESSAGE("102 answers came in " << messages << " messages");
  CHECK(messages < 102);

  // A batch of three whose second frame has another protocol version: the first runs; the
  // second and the third are dropped and counted as bad frames.
  auto const bad_before = p.host->transport_stats().bad_frames;
  auto bytes_of = [](mesh::wire::frame const& f) {
    std::string s;
    for (auto const& part : mesh::wire::encode_frame(f)) s += part;
    return s;
  };
  auto broken = bytes_of(call(201, "batched", 0, add));
  broken[1] = static_cast<char>(mesh::protocol_version + 1);  // the header's version field
  mesh::wire::batch_writer::start(b);
  b.body[0] += bytes_of(call(200, "batched", 0, add)) + broken + bytes_of(call(202, "batched", 0, add));
  b.h.frames = 3;
  mesh::wire::batch_writer::finish(b);
  send_raw(d, b);
  messages = 0;
  got = raw_answers(d, 1, messages);
  REQUIRE(got.size() == 1u);
  CHECK(mesh::wire::decode<long>(got[200].body[0]).value() == 101);
  REQUIRE(wait_until([&] { return p.host->transport_stats().bad_frames == bad_before + 2; }));
  auto g = p.caller->call<app::Counter>("batched", app::Get{});
  REQUIRE(g);
  CHECK(g->value == 101);  // neither frame after the bad one ran
}

TEST_CASE("an answer is not held back by a slow handler that runs after it on the I/O thread" * doctest::timeout(60)) {
  pair_fixture p;
  raw_dealer r(p.host->endpoint(), 50);
  auto& d = r.d;
  // One message, so that both requests are read together and their handlers run one after the
  // other on the I/O thread: a quick Get, then a Sleep of 600 ms on another activation.
  auto get = counter_call("quick", 1, mesh::wire::encode(app::Get{}));
  get.h.request_id = 1;
  auto sleep = counter_call("slow", 5, mesh::wire::encode(app::Sleep{600}));
  sleep.h.request_id = 2;
  mesh::wire::frame b;
  mesh::wire::batch_writer::start(b);
  mesh::wire::batch_writer::append(b, get);
  mesh::wire::batch_writer::append(b, sleep);
  mesh::wire::batch_writer::finish(b);
  auto const t0 = steady::now();
  send_raw(d, b);
  int messages = 0;
  auto first = raw_answers(d, 1, messages);
  auto const quick_ms = elapsed_ms(t0);
  REQUIRE(first.count(1) == 1u);
  CHECK(first[1].h.k == mesh::wire::kind::reply);
  MESSAGE("the quick answer came after " << quick_ms << " ms, the slow handler sleeps 600");
  CHECK(quick_ms < 300);  // the relief thread takes over after ~2 ms and sends it
  auto second = raw_answers(d, 1, messages);
  REQUIRE(second.count(2) == 1u);
  CHECK(mesh::wire::decode<int>(second[2].body[0]).value() == 600);
}

TEST_CASE("a batch that comes in on a node's DEALER is taken apart like one on its ROUTER" * doctest::timeout(60)) {
  // A raw ROUTER plays a seed that answers the node's heartbeats with batches, as a member does
  // when it answers a node it does not know yet.
  fake_seed fake;
  auto& seed = fake.s;
  auto node = start("solo", {fake.endpoint});
  std::vector<zmq::message_t> hb;
  REQUIRE(zmq::recv_multipart(seed, std::back_inserter(hb)));  // the node's first heartbeat
  REQUIRE(hb.size() == 3u);
  std::string const rid(hb[0].data<char>(), hb[0].size());
  auto send_to_node = [&](mesh::wire::frame const& f) {
    (void)seed.send(zmq::buffer(rid), zmq::send_flags::sndmore);
    auto const parts = mesh::wire::encode_frame(f);
    for (std::size_t i = 0; i < parts.size(); ++i)
      (void)seed.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  };
  mesh::cluster::refusal no;
  no.self.name = "fake-seed";
  no.code = static_cast<std::uint16_t>(mesh::errc::unauthorized);
  no.reason = "not today";
  mesh::wire::frame refuse;
  refuse.h.k = mesh::wire::kind::control;
  refuse.h.control = static_cast<std::uint16_t>(mesh::cluster::control::refuse);
  refuse.body.push_back(mesh::wire::encode(no));
  mesh::wire::frame late;  // an answer to no request of the node's: dropped
  late.h.k = mesh::wire::kind::reply;
  late.h.request_id = 999999;
  late.h.node = "fake-seed";
  late.body.push_back(mesh::wire::encode(1));

  auto const before = node->transport_stats();
  mesh::wire::frame b;
  mesh::wire::batch_writer::start(b);
  mesh::wire::batch_writer::append(b, late);
  mesh::wire::batch_writer::append(b, refuse);
  mesh::wire::batch_writer::finish(b);
  send_to_node(b);
  REQUIRE(wait_until([&] { return node->transport_stats().refused_peers == before.refused_peers + 1; }));
  CHECK(node->transport_stats().bad_frames == before.bad_frames);

  // A frame in the batch that does not decode (a reply without its body, then a refusal that is
  // never reached): counted as bad, and the refusal after it is not delivered.
  mesh::wire::batch_writer::start(b);
  b.body[0] += mesh::wire::encode_header(late.h);
  mesh::wire::batch_writer::append(b, refuse);
  b.h.frames = 2;
  mesh::wire::batch_writer::finish(b);
  send_to_node(b);
  REQUIRE(wait_until([&] { return node->transport_stats().bad_frames >= before.bad_frames + 1; }));
  std::this_thread::sleep_for(100ms);
  CHECK(node->transport_stats().refused_peers == before.refused_peers + 1);
}

TEST_CASE("call_async keeps 256 calls to a remote node outstanding and every one completes" * doctest::timeout(60)) {
  pair_fixture p;
  auto& caller = *p.caller;
  auto const t0 = steady::now();
  std::vector<mesh::future<long>> same, spread;
  for (int i = 0; i < 256; ++i) same.push_back(caller.call_async<app::Counter>("pipe", app::Add{1}));
  for (int i = 0; i < 256; ++i)
    spread.push_back(caller.call_async<app::Counter>("pipe-" + std::to_string(i), app::Add{i}));
  std::set<long> seen;
  for (auto& f : same) {
    auto r = f.get();
    REQUIRE(r);
    CHECK(r->ref.node == "host");
    seen.insert(r->value);
  }
  CHECK(seen.size() == 256u);  // each Add ran once, one at a time: 1..256
  CHECK(*seen.begin() == 1);
  CHECK(*seen.rbegin() == 256);
  for (int i = 0; i < 256; ++i) {
    auto r = spread[static_cast<std::size_t>(i)].get();
    REQUIRE(r);
    CHECK(r->value == i);
    CHECK(r->ref.id == "pipe-" + std::to_string(i));
  }
  MESSAGE("512 pipelined remote calls completed in " << elapsed_ms(t0) << " ms");
  CHECK(p.host->activation_count<app::Counter>() == 257u);
  CHECK(caller.activation_count() == 0u);

  // Futures dropped without get() do not block, and their replies are discarded.
  for (int i = 0; i < 64; ++i) (void)caller.call_async<app::Counter>("pipe", app::Add{1});
  REQUIRE(wait_until([&] { return caller.call<app::Counter>("pipe", app::Get{})->value == 320; }));
}

TEST_CASE("threads pipelining futures to one remote node each get every reply, whoever reads it" * doctest::timeout(60)) {
  // A future's waiter reads the caller node's ROUTER itself (call_state::wait_reading): with four
  // threads doing so at once, each reply must reach its own future exactly once, whichever thread
  // (or the I/O thread) read it off the socket.
  pair_fixture p;
  auto& caller = *p.caller;
  constexpr int threads = 4, per_thread = 400, window = 24;
  std::vector<int> wrong(threads, 0), done(threads, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::string const id = "fan-" + std::to_string(t);
      std::deque<mesh::future<long>> q;
      long expected = 0;
      auto take_front = [&] {
        auto r = q.front().get();
        q.pop_front();
        // Add{1} on this thread's own counter, in order: the n-th reply is n.
        if (!r || r->value != ++expected || r->ref.id != id) ++wrong[static_cast<std::size_t>(t)];
        ++done[static_cast<std::size_t>(t)];
      };
      for (int i = 0; i < per_thread; ++i) {
        if (static_cast<int>(q.size()) >= window) take_front();
        q.push_back(caller.call_async<app::Counter>(id, app::Add{1}, 10000ms));
      }
      while (!q.empty()) take_front();
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < threads; ++t) {
    CHECK(done[static_cast<std::size_t>(t)] == per_thread);
    CHECK(wrong[static_cast<std::size_t>(t)] == 0);
    auto g = caller.call<app::Counter>("fan-" + std::to_string(t), app::Get{});
    REQUIRE(g);
    CHECK(g->value == per_thread);
  }
}

TEST_CASE("callers that spin for replies (reply_spin) get the same results as callers that sleep, within their deadlines" *
          doctest::timeout(60)) {
  auto host = start("host");
  host->register_capabilities<app::game>();
  // A spin budget far longer than any reply or deadline here: every wait polls until its reply,
  // its deadline or a completion by another thread ends it.
  auto spin_cfg = config("spinner", {host->endpoint()});
  spin_cfg.reply_spin = std::chrono::microseconds(2'000'000);
  auto sleep_cfg = config("sleeper", {host->endpoint()});
  sleep_cfg.reply_spin = std::chrono::microseconds(0);
  app_node spinner(spin_cfg), sleeper(sleep_cfg);
  REQUIRE(converged({host.get(), &spinner, &sleeper}, {"host", "sleeper", "spinner"}, {"host"}));
  for (auto* n : {&spinner, &sleeper}) {
    std::string const id = n == &spinner ? "spin" : "sleep";
    CAPTURE(id);
    for (long i = 1; i <= 50; ++i) {
      auto r = n->call<app::Counter>(id, app::Add{1});
      REQUIRE(r);
      CHECK(r->value == i);
      CHECK(r->ref.node == "host");
    }
    std::deque<mesh::future<long>> q;
    for (int i = 0; i < 64; ++i) q.push_back(n->call_async<app::Counter>(id, app::Add{1}));
    long expected = 50;
    for (auto& f : q) {
      auto r = f.get();
      REQUIRE(r);
      CHECK(r->value == ++expected);
    }
  }
  // Two threads spin at once on one node (or one spins and one sleeps, on a 2-core machine):
  // each gets its own replies.
  std::vector<std::thread> ts;
  std::atomic<int> good{0};
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&, t] {
      for (long i = 1; i <= 100; ++i) {
        auto r = spinner.call<app::Counter>("spin-" + std::to_string(t), app::Add{1});
        if (r && r->value == i) ++good;
      }
    });
  for (auto& t : ts) t.join();
  CHECK(good == 200);
  // The spin ends at the call's deadline: a 100 ms call to a busy actor times out after ~100 ms,
  // not after the 2 s budget.
  auto busy = spinner.call_async<app::Counter>("spin-busy", app::Sleep{1500}, 5000ms);
  std::this_thread::sleep_for(50ms);
  auto const t0 = steady::now();
  auto late = spinner.call<app::Counter>("spin-busy", app::Get{}, 100ms);
  auto const took = elapsed_ms(t0);
  REQUIRE_FALSE(late);
  CHECK(late.error().code == mesh::errc::timeout);
  CHECK(took >= 90);
  CHECK(took < 1000);
  CHECK(busy.get().has_value());
}

TEST_CASE("pipelined replies of mixed sizes each carry their own bytes" * doctest::timeout(60)) {
  // Answers are read in batches into buffers that keep their capacity from one frame to the
  // next: a short reply after a long one (and a reply of several KiB among short ones) must
  // arrive exactly, without a byte of its neighbours. Replies up to 16 KiB are decoded while the
  // reader holds the sockets, larger ones ("giant", ~40 KB) after it released them: both kinds
  // interleave here.
  auto host = start("host");
  host->register_capabilities<app::chat>();
  auto caller = start("caller", {host->endpoint()});
  REQUIRE(converged({host.get(), caller.get()}, {"caller", "host"}, {}));
  REQUIRE(wait_until([&] { return caller->nodes_for<app::chat>() == names{"host"}; }));
  std::vector<std::pair<std::string, std::vector<std::string>>> rooms = {
      {"tiny", {}}, {"short", {}}, {"long", {}}, {"huge", {}}, {"giant", {}}};
  auto post = [&](std::size_t room, std::string text) {
    auto r = caller->call<app::ChatRoom>(rooms[room].first, app::Post{"u", text});
    REQUIRE(r);
    rooms[room].second.push_back("u: " + text);
    CHECK(r->value == rooms[room].second.size());
  };
  // "tiny" stays empty (a 1-byte reply body), "short" one line.
  post(1, "hi");
  for (int i = 0; i < 12; ++i) post(2, std::string(100, static_cast<char>('a' + i)));  // ~1.2 KB reply
  for (int i = 0; i < 6; ++i) post(3, std::string(1000, static_cast<char>('A' + i)));  // ~6 KB reply
  for (int i = 0; i < 10; ++i) post(4, std::string(4000, static_cast<char>('0' + i)));  // ~40 KB reply
  for (int round = 0; round < 3; ++round) {
    std::deque<std::pair<std::size_t, mesh::future<std::vector<std::string>>>> q;
    for (int i = 0; i < 200; ++i) {
      auto const room = static_cast<std::size_t>((i * 7 + round) % 5);
      q.emplace_back(room, caller->call_async<app::ChatRoom>(rooms[room].first, app::History{}));
    }
    for (auto& [room, f] : q) {
      auto r = f.get();
      REQUIRE(r);
      CHECK(r->value == rooms[room].second);
    }
  }
}

TEST_CASE("a remote call's future waited on by one thread and then another, and calls whose deadline meets their reply, complete once" * doctest::timeout(60)) {
  pair_fixture p;
  // One future, two threads waiting in turn: the first gives up (wait_for), the second must be
  // woken by the reply itself, not by the call's deadline (each wait says where it sleeps).
  auto f = p.caller->call_async<app::Counter>("wait-twice", app::Sleep{150}, 10s);
  std::thread([&] { CHECK_FALSE(f.wait_for(20ms)); }).join();
  auto const t0 = steady::now();
  std::optional<mesh::result<mesh::reply<int>>> r;
  std::thread([&] { r = f.get(); }).join();
  REQUIRE(r);
  REQUIRE(*r);
  CHECK((*r)->value == 150);
  CHECK(elapsed_ms(t0) < 5000);  // the reply comes ~130 ms later; the deadline is 10 s away
  // Deadlines that fall as the reply comes (the I/O thread's expiry and the reply race the
  // caller's own timeout): each call ends exactly once, with its reply or errc::timeout.
  for (int i = 0; i < 40; ++i) {
    auto c = p.caller->call<app::Counter>("edge-" + std::to_string(i % 4), app::Sleep{20},
                                         20ms + std::chrono::milliseconds(i % 5));
    if (c) CHECK(c->value == 20);
    else CHECK(c.error().code == mesh::errc::timeout);
  }
}

TEST_CASE("a remote call's continuation that throws is logged, and the thread that read its reply goes on" * doctest::timeout(60)) {
  // Continuations run on whichever thread completes the call: here the caller node's I/O thread,
  // or this thread while it reads the socket waiting for its own futures. An exception from one
  // must neither end that thread nor come out of an unrelated get().
  struct log_lines {
    std::mutex m;
    std::vector<std::string> v;
    int count(std::string_view text) {
      std::lock_guard lk(m);
      return static_cast<int>(std::count_if(v.begin(), v.end(), [&](auto const& l) { return l.find(text) != std::string::npos; }));
    }
  };
  auto lines = std::make_shared<log_lines>();
  auto host = start("host");
  auto cfg = config("caller", {host->endpoint()});
  cfg.logger = [lines](std::string_view l) {
    std::lock_guard lk(lines->m);
    lines->v.emplace_back(l);
  };
  auto caller = std::make_unique<app_node>(cfg);
  host->register_capabilities<app::game>();
  REQUIRE(converged({host.get(), caller.get()}, {"caller", "host"}, {"host"}));

  std::atomic<int> ran{0};
  std::vector<mesh::future<long>> mine;
  for (int i = 0; i < 64; ++i) {
    caller->call_async<app::Counter>("throws", app::Add{1}).then([&ran](mesh::result<mesh::reply<long>> r) {
      ++ran;
      throw std::runtime_error(r ? "boom after a reply" : "boom after an error");
    });
    mine.push_back(caller->call_async<app::Counter>("throws", app::Add{1}));
  }
  int ok = 0;
  for (auto& f : mine) {
    std::optional<mesh::result<mesh::reply<long>>> r;
    CHECK_NOTHROW(r = f.get());
    if (r && *r) ++ok;
  }
  CHECK(ok == 64);
  CHECK(wait_until([&] { return ran.load() == 64; }));
  CHECK(wait_until([&] { return lines->count("continuation threw: boom after a reply") == 64; }));
  auto g = caller->call<app::Counter>("throws", app::Get{});  // the I/O thread still serves
  REQUIRE(g);
  CHECK(g->value == 128);
}

TEST_CASE("a logger that throws does not end the threads that log through it" * doctest::timeout(60)) {
  // Joins are logged by the I/O thread, a continuation's exception by whichever thread ran it.
  std::atomic<int> offered{0};
  auto throwing = [&](std::string_view) {
    ++offered;
    throw std::runtime_error("logger is broken");
  };
  auto hcfg = config("host");
  hcfg.logger = throwing;
  auto host = std::make_unique<app_node>(hcfg);
  auto ccfg = config("caller", {host->endpoint()});
  ccfg.logger = throwing;
  auto caller = std::make_unique<app_node>(ccfg);
  host->register_capabilities<app::game>();
  REQUIRE(converged({host.get(), caller.get()}, {"caller", "host"}, {"host"}));
  CHECK(offered.load() >= 2);  // each side logged the other's join
  std::atomic<bool> ran{false};
  caller->call_async<app::Counter>("log", app::Add{1}).then([&](mesh::result<mesh::reply<long>>) {
    ran = true;
    throw std::runtime_error("continuation fails too");
  });
  CHECK(wait_until([&] { return ran.load(); }));
  auto g = caller->call<app::Counter>("log", app::Get{});
  REQUIRE(g);
  CHECK(g->value == 1);
  host.reset();  // the caller logs the host's departure
  CHECK(wait_until([&] { return caller->cluster_members() == names{"caller"}; }));
}

TEST_CASE("cast to a remote actor is delivered in order without a reply" * doctest::timeout(60)) {
  pair_fixture p;
  for (int i = 0; i < 100; ++i) REQUIRE(p.caller->cast<app::Counter>("casted", app::Add{1}));
  REQUIRE(p.caller->cast(mesh::request<app::Counter, app::Add>{.id = "casted-init", .payload = {1}, .init_arg = app::Start{41}}));
  // Casts and calls from one node to one activation travel one connection: the call sees them all.
  auto r = p.caller->call<app::Counter>("casted", app::Get{});
  REQUIRE(r);
  CHECK(r->value == 100);
  CHECK(r->ref.node == "host");
  REQUIRE(wait_until([&] { return p.caller->call<app::Counter>("casted-init", app::Get{})->value == 42; }));
  // A cast that cannot be routed fails at once.
  auto none = p.caller->cast<app::ChatRoom>("room", app::Post{"a", "b"});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == mesh::errc::no_nodes);
}

TEST_CASE("rebalancing moves activations whose shard changed owner to the new owner" * doctest::timeout(60)) {
  auto n0 = start("n0");
  auto n1 = start("n1", {n0->endpoint()});
  auto n2 = start("n2", {n0->endpoint()});
  n0->register_capabilities<app::game>();
  REQUIRE(converged({n0.get(), n1.get(), n2.get()}, {"n0", "n1", "n2"}, {"n0"}));

  int const count = 64;
  auto id = [](int i) { return "rb-" + std::to_string(i); };
  for (int i = 0; i < count; ++i) {
    auto r = n2->call<app::Counter>(id(i), app::Add{1});
    REQUIRE(r);
    CHECK(r->ref.node == "n0");
  }
  CHECK(n0->activation_count<app::Counter>() == static_cast<std::size_t>(count));

  // n1 registers the same capability at run time: about half of the shards move to it.
  n1->register_capabilities<app::game>();
  REQUIRE(converged({n0.get(), n1.get(), n2.get()}, {"n0", "n1", "n2"}, {"n0", "n1"}));
  std::vector<int> moved, kept;
  for (int i = 0; i < count; ++i) (*n2->owner_node(n2->shard_for(id(i)), "game") == "n1" ? moved : kept).push_back(i);
  REQUIRE(!moved.empty());
  REQUIRE(!kept.empty());
  auto const t0 = steady::now();
  REQUIRE(wait_until([&] { return n0->activation_count<app::Counter>() == kept.size(); }, 3000ms));
  MESSAGE(moved.size() << " of " << count << " activations left n0 " << elapsed_ms(t0) << " ms after convergence");
  CHECK(n1->activation_count<app::Counter>() == 0u);

  for (int i : moved) {
    auto r = n2->call<app::Counter>(id(i), app::Get{});
    REQUIRE(r);
    CHECK(r->ref.node == "n1");
    CHECK(r->value == 0);  // re-created on the new owner
  }
  for (int i : kept) {
    auto r = n2->call<app::Counter>(id(i), app::Get{});
    REQUIRE(r);
    CHECK(r->ref.node == "n0");
    CHECK(r->value == 1);  // untouched
  }
  CHECK(n1->activation_count<app::Counter>() == moved.size());
  CHECK(n0->activation_count<app::Counter>() == kept.size());

  // A node that joins with the capability takes its share the same way. Placement is
  // shard % size, so shards also move between n0 and n1: only those whose owner is unchanged stay.
  std::vector<std::string> before(count);
  for (int i = 0; i < count; ++i) before[static_cast<std::size_t>(i)] = *n2->owner_node(n2->shard_for(id(i)), "game");
  auto n3 = start("n3", {n1->endpoint()});
  n3->register_capabilities<app::game>();
  REQUIRE(converged({n0.get(), n1.get(), n2.get(), n3.get()}, {"n0", "n1", "n2", "n3"}, {"n0", "n1", "n3"}));
  std::size_t stay_n0 = 0, stay_n1 = 0;
  for (int i = 0; i < count; ++i) {
    auto const now = *n2->owner_node(n2->shard_for(id(i)), "game");
    if (now != before[static_cast<std::size_t>(i)]) continue;
    (now == "n0" ? stay_n0 : stay_n1) += 1;
  }
  bool const rebalanced = wait_until([&] {
    return n0->activation_count<app::Counter>() == stay_n0 && n1->activation_count<app::Counter>() == stay_n1;
  }, 3000ms);
  REQUIRE_MESSAGE(rebalanced, "n0 has " << n0->activation_count<app::Counter>() << " (expected " << stay_n0 << "), n1 "
                                        << n1->activation_count<app::Counter>() << " (expected " << stay_n1 << ")");
  for (int i = 0; i < count; ++i) {
    auto const owner = *n2->owner_node(n2->shard_for(id(i)), "game");
    auto r = n2->call<app::Counter>(id(i), app::Get{});
    REQUIRE(r);
    CHECK(r->ref.node == owner);
    CHECK(r->value == (owner == before[static_cast<std::size_t>(i)] && owner == "n0" ? 1 : 0));
  }
  CHECK(n3->activation_count<app::Counter>() > 0u);
  CHECK(n0->activation_count<app::Counter>() + n1->activation_count<app::Counter>() + n3->activation_count<app::Counter>() ==
        static_cast<std::size_t>(count));
}

TEST_CASE("in-flight calls to a node that is destroyed fail with node_unreachable or shutting_down before their deadline" *
          doctest::timeout(60)) {
  pair_fixture p;
  std::vector<mesh::future<int>> sleeping;
  std::vector<mesh::future<long>> queued;
  for (int i = 0; i < 4; ++i)
    sleeping.push_back(p.caller->call_async<app::Counter>("sleeper-" + std::to_string(i), app::Sleep{800}, 8000ms));
  for (int i = 0; i < 20; ++i)
    queued.push_back(p.caller->call_async<app::Counter>("sleeper-" + std::to_string(i % 4), app::Get{}, 8000ms));
  std::this_thread::sleep_for(100ms);

  auto const t0 = steady::now();
  std::thread destroyer([&] { p.host.reset(); });
  auto ok_code = [](mesh::errc c) { return c == mesh::errc::node_unreachable || c == mesh::errc::shutting_down; };
  long worst = 0;
  for (auto& f : sleeping) {
    auto r = f.get();
    worst = std::max(worst, elapsed_ms(t0));
    REQUIRE_FALSE(r);
    CHECK_MESSAGE(ok_code(r.error().code), r.error());
  }
  for (auto& f : queued) {
    auto r = f.get();
    worst = std::max(worst, elapsed_ms(t0));
    REQUIRE_FALSE(r);
    CHECK_MESSAGE(ok_code(r.error().code), r.error());
  }
  destroyer.join();
  MESSAGE("all 24 in-flight calls failed " << worst << " ms after the destruction began");
  CHECK(worst < 2000);  // their deadline was 8 s away

  // The caller forgot the host at once: new calls fail fast with no_nodes.
  CHECK(p.caller->nodes_for<app::game>().empty());
  auto r = p.caller->call<app::Counter>("sleeper-0", app::Get{});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mesh::errc::no_nodes);
}

TEST_CASE("calls in flight from a node that is destroyed fail with shutting_down" * doctest::timeout(60)) {
  pair_fixture p;
  std::vector<mesh::future<int>> futures;
  for (int i = 0; i < 8; ++i)
    futures.push_back(p.caller->call_async<app::Counter>("slow-" + std::to_string(i % 2), app::Sleep{500}, 8000ms));
  std::this_thread::sleep_for(50ms);
  auto const t0 = steady::now();
  p.caller.reset();
  for (auto& f : futures) {
    auto r = f.get();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == mesh::errc::shutting_down);
  }
  CHECK(elapsed_ms(t0) < 2000);
  // The host is unaffected and forgets the caller.
  REQUIRE(wait_until([&] { return p.host->cluster_members() == names{"host"}; }));
  CHECK(p.host->call<app::Counter>("slow-0", app::Get{}));
}

TEST_SUITE_END();

TEST_CASE("a node that leaves while its replies stream back is dropped cleanly by the caller" * doctest::timeout(60)) {
  // The leave (on the caller's ROUTER) and the last replies (on its DEALER to the host) arrive
  // together: the caller's I/O thread must not touch the dropped peer afterwards.
  for (int round = 0; round < 12; ++round) {
    pair_fixture p;
    std::atomic<bool> stop{false};
    std::thread load([&] {
      std::vector<mesh::future<long>> batch;
      while (!stop.load()) {
        batch.clear();
        for (int i = 0; i < 64; ++i)
          batch.push_back(p.caller->call_async<app::Counter>("stream-" + std::to_string(i), app::Add{1}, 2000ms));
        for (auto& f : batch) (void)f.get();
      }
    });
    std::this_thread::sleep_for(milliseconds(20 + 7 * round));
    p.host.reset();
    stop = true;
    load.join();
    CHECK(wait_until([&] { return p.caller->nodes_for<app::game>().empty(); }, 2000ms));
  }
}

// node_config::io_thread_runs_handlers (the default): the I/O thread runs remote requests'
// handlers itself. Results, ordering and nested calls must be exactly those of the worker path,
// and a handler that takes long must not stop the node's I/O.
TEST_CASE("with io_thread_runs_handlers, remote calls, casts, nested calls and slow handlers behave as on workers" *
          doctest::timeout(60)) {
  auto inline_config = [](std::string name, std::vector<std::string> seeds = {}) {
    auto c = config(std::move(name), std::move(seeds));
    c.io_thread_runs_handlers = true;
    return c;
  };
  auto host = std::make_unique<app_node>(inline_config("host"));
  auto relay_host = std::make_unique<app_node>(inline_config("relay-host", {host->endpoint()}));
  auto caller = start("caller", {host->endpoint()});
  host->register_capabilities<app::game>();
  relay_host->register_capabilities<app::relay>();
  REQUIRE(wait_until([&] {
    for (auto* n : {host.get(), relay_host.get(), caller.get()})
      if (n->cluster_members() != names{"caller", "host", "relay-host"} || n->nodes_for<app::relay>() != names{"relay-host"} ||
          n->nodes_for<app::game>() != names{"host"})
        return false;
    return true;
  }));

  // Sequential calls and per-caller order of casts then a call.
  for (int i = 1; i <= 200; ++i) {
    auto r = caller->call<app::Counter>("io-seq", app::Add{1});
    REQUIRE(r);
    CHECK(r->value == i);
    CHECK(r->ref.node == "host");
  }
  for (int i = 0; i < 100; ++i) REQUIRE(caller->cast<app::Counter>("io-cast", app::Add{1}));
  auto cast_sum = caller->call<app::Counter>("io-cast", app::Get{});
  REQUIRE(cast_sum);
  CHECK(cast_sum->value == 100);

  // Pipelined calls over many activations: every reply arrives, each activation saw its adds.
  std::vector<mesh::future<long>> fs;
  for (int i = 0; i < 512; ++i) fs.push_back(caller->call_async<app::Counter>("io-pipe-" + std::to_string(i % 16), app::Add{1}));
  int ok = 0;
  for (auto& f : fs) ok += f.get().has_value() ? 1 : 0;
  CHECK(ok == 512);
  for (int i = 0; i < 16; ++i) CHECK(caller->call<app::Counter>("io-pipe-" + std::to_string(i), app::Get{})->value == 32);

  // A handler on relay-host's I/O thread makes a nested remote call: it reads its own reply.
  for (int i = 0; i < 20; ++i) {
    auto r = caller->call<app::Relay>("relay-" + std::to_string(i), app::Route{"nested-" + std::to_string(i)});
    REQUIRE(r);
    CHECK(r->value.via == "relay-host");
    CHECK(r->value.error_code == 0);
    CHECK(r->value.replied_by == "host");
  }

  // A handler that outlasts the failure timeout (1 s here) on the I/O thread: the relief thread
  // keeps the node's I/O going, so it stays a member and other activations keep answering (on
  // the workers) meanwhile; the slow call itself succeeds, and so do the calls queued behind it.
  auto slow = caller->call_async<app::Counter>("io-slow", app::Sleep{1500}, 5000ms);
  std::vector<mesh::future<long>> behind;
  for (int i = 0; i < 20; ++i) behind.push_back(caller->call_async<app::Counter>("io-slow", app::Add{1}, 5000ms));
  std::this_thread::sleep_for(50ms);
  auto const during = steady::now();
  int answered = 0;
  while (elapsed_ms(during) < 1300) {
    auto const t0 = steady::now();
    auto r = caller->call<app::Counter>("io-other", app::Add{1}, 1000ms);
    REQUIRE(r);
    CHECK(elapsed_ms(t0) < 500);
    ++answered;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(answered > 20);
  CHECK(host->cluster_members() == names{"caller", "host", "relay-host"});
  CHECK(caller->cluster_members() == names{"caller", "host", "relay-host"});
  auto s = slow.get();
  REQUIRE(s);
  CHECK(s->value == 1500);
  for (auto& f : behind) CHECK(f.get().has_value());
  CHECK(caller->call<app::Counter>("io-slow", app::Get{})->value == 20);
  CHECK(caller->call<app::Counter>("io-seq", app::Get{})->value == 200);
}

// A thread blocked in a remote call reads its node's ROUTER itself (call_state::wait_reading):
// requests that arrive for its node meanwhile must still be served. Here a's main thread calls the
// relay on b, whose handler calls back into a's counter while a's caller is still waiting; with
// b's handlers on workers and on its I/O thread.
TEST_CASE("a node whose caller waits for a remote reply still serves requests, including the nested call back" *
          doctest::timeout(60)) {
  for (bool inline_handlers : {false, true}) {
    CAPTURE(inline_handlers);
    auto a = start("a");
    auto bc = config("b", {a->endpoint()});
    bc.io_thread_runs_handlers = inline_handlers;
    auto b = std::make_unique<app_node>(bc);
    a->register_capabilities<app::game>();
    b->register_capabilities<app::relay>();
    REQUIRE(wait_until([&] {
      for (auto* n : {a.get(), b.get()})
        if (n->nodes_for<app::game>() != names{"a"} || n->nodes_for<app::relay>() != names{"b"}) return false;
      return true;
    }));
    // Several threads wait at once: one of them reads, the others are woken by its completions.
    std::vector<std::thread> callers;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t)
      callers.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          auto r = a->call<app::Relay>("r-" + std::to_string(t), app::Route{"back-" + std::to_string(t * 100 + i)});
          if (r && r->value.via == "b" && r->value.error_code == 0 && r->value.replied_by == "a") ++good;
        }
      });
    for (auto& c : callers) c.join();
    CHECK(good == 100);
    CHECK(a->activation_count<app::Counter>() == 100u);
  }
}
