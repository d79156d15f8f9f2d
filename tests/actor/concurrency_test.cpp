// Virtual actors on one node under concurrency: one message at a time per activation, parallel
// activations, per-caller ordering, bounded mailboxes, timeouts and futures.
#include "actors.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>

#if defined(__linux__)
#include <sys/eventfd.h>
#include <unistd.h>
#endif

using namespace actor_test;

TEST_CASE("activation runs one message at a time under concurrent call, call_async and cast") {
  probe.reset();
  test_node n{local_config(4)};
  n.register_capabilities<counters>();
  constexpr int threads = 8;
  constexpr int per_thread = 1500;
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::vector<mesh::future<long>> pending;
      for (int i = 0; i < per_thread; ++i) {
        switch ((i + t) % 3) {
          case 0:
            if (!n.call<Counter>("shared", Add{1})) ++errors;
            break;
          case 1: pending.push_back(n.call_async<Counter>("shared", Add{1})); break;
          default:
            if (!n.cast<Counter>("shared", Add{1})) ++errors;
        }
      }
      for (auto& f : pending)
        if (!f.get()) ++errors;
    });
  }
  for (auto& t : ts) t.join();
  auto total = n.call<Counter>("shared", Get{});  // queued behind every cast made above
  REQUIRE(total.has_value());
  CHECK(errors == 0);
  CHECK(probe.overlaps.load() == 0);
  CHECK(total->value == threads * per_thread);
  CHECK(probe.counter_constructed.load() == 1);
}

TEST_CASE("many activations each count exactly under concurrent callers") {
  probe.reset();
  test_node n{local_config(4)};
  n.register_capabilities<counters>();
  constexpr int threads = 8;
  constexpr int actors = 64;
  constexpr int rounds = 40;
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r)
        for (int a = 0; a < actors; ++a) {
          auto const id = "c" + std::to_string((a + t * 7) % actors);
          bool const ok = (r % 2 == 0) ? n.call<Counter>(id, Add{1}).has_value() : n.cast<Counter>(id, Add{1}).has_value();
          if (!ok) ++errors;
        }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(errors == 0);
  for (int a = 0; a < actors; ++a) {
    auto r = n.call<Counter>("c" + std::to_string(a), Get{});
    REQUIRE(r.has_value());
    CHECK(r->value == threads * rounds);
  }
  CHECK(probe.overlaps.load() == 0);
  CHECK(n.activation_count<Counter>() == actors);
}

TEST_CASE("different activations run in parallel while one activation holds a single message") {
  probe.reset();
  test_node n{local_config(2)};
  n.register_capabilities<work>();
  auto a1 = n.call_async<Gated>("a", Hold{});
  auto a2 = n.call_async<Gated>("a", Hold{});  // same activation: waits behind the first
  auto b = n.call_async<Gated>("b", Hold{});
  CHECK(eventually([] { return probe.held.load() == 2; }));  // "a" and "b" at once, on two workers
  std::this_thread::sleep_for(20ms);
  CHECK(probe.held.load() == 2);  // never the second message of "a" while its first is running
  probe.hold_gate.open();
  for (auto* f : {&a1, &a2, &b}) {
    auto r = f->get();
    REQUIRE(r.has_value());
    CHECK(r->value == true);
  }
  auto handled = n.call<Gated>("a", Handled{});
  REQUIRE(handled.has_value());
  CHECK(handled->value == 2);
}

TEST_CASE("more activations scheduled at once than the run queue's ring holds all run (overflow list)") {
  probe.reset();
  test_node n{local_config(2)};
  n.register_capabilities<counters, work>();
  // Hold both workers, then schedule 3,000 distinct activations: the ring (1,024 slots) fills
  // and the rest wait in the overflow list.
  auto h1 = n.call_async<Gated>("h1", Hold{});
  auto h2 = n.call_async<Gated>("h2", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 2; }));
  constexpr int actors = 3000;
  std::vector<mesh::future<long>> pending;
  pending.reserve(actors);
  for (int a = 0; a < actors; ++a) pending.push_back(n.call_async<Counter>("o" + std::to_string(a), Add{a}));
  probe.hold_gate.open();
  int ok = 0;
  for (int a = 0; a < actors; ++a) {
    auto r = pending[static_cast<std::size_t>(a)].get();
    if (r.has_value() && r->value == a) ++ok;
  }
  CHECK(ok == actors);
  CHECK(h1.get().has_value());
  CHECK(h2.get().has_value());
  CHECK(n.activation_count<Counter>() == actors);
}

TEST_CASE("casts then a call from one caller are handled in the order they were sent") {
  test_node n{local_config(4)};
  n.register_capabilities<work>();
  std::vector<long> expected(1000);
  std::iota(expected.begin(), expected.end(), 0L);
  for (long i = 0; i < 1000; ++i) REQUIRE(n.cast<Log>("solo", Append{i}).has_value());
  auto r = n.call<Log>("solo", Entries{});
  REQUIRE(r.has_value());
  CHECK(r->value == expected);

  // Several callers at once: each caller's own messages keep their order.
  constexpr long callers = 4;
  constexpr long each = 500;
  std::atomic<int> out_of_order{0};
  std::vector<std::thread> ts;
  for (long t = 0; t < callers; ++t) {
    ts.emplace_back([&, t] {
      for (long i = 0; i < each; ++i) {
        auto const entry = t * 1000000 + i;
        bool const ok = (i % 5 == 4) ? n.call<Log>("shared", Append{entry}).has_value()
                                     : n.cast<Log>("shared", Append{entry}).has_value();
        if (!ok) ++out_of_order;
      }
      auto seen = n.call<Log>("shared", Entries{});
      if (!seen) {
        ++out_of_order;
        return;
      }
      std::vector<long> mine;
      for (long e : seen->value)
        if (e / 1000000 == t) mine.push_back(e % 1000000);
      std::vector<long> want(each);
      std::iota(want.begin(), want.end(), 0L);
      if (mine != want) ++out_of_order;
    });
  }
  for (auto& t : ts) t.join();
  CHECK(out_of_order == 0);
  auto all = n.call<Log>("shared", Entries{});
  REQUIRE(all.has_value());
  CHECK(all->value.size() == static_cast<std::size_t>(callers * each));
}

TEST_CASE("call to a busy activation fails with timeout after its per-call timeout") {
  probe.reset();
  test_node n{local_config(2)};
  n.register_capabilities<work>();
  auto held = n.call_async<Gated>("g", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 1; }));

  auto t0 = clock_type::now();
  auto r = n.call<Gated>("g", Ping{}, 100ms);
  auto const sync_ms = ms_since(t0);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == mesh::errc::timeout);
  CHECK(sync_ms < 2000);

  t0 = clock_type::now();
  auto a = n.call_async<Gated>("g", Ping{}, 100ms).get();
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().code == mesh::errc::timeout);
  CHECK(ms_since(t0) < 2000);

  t0 = clock_type::now();
  auto q = n.call(mesh::request<Gated, Ping>{.id = "g", .payload = Ping{}, .timeout = 100ms});
  REQUIRE_FALSE(q.has_value());
  CHECK(q.error().code == mesh::errc::timeout);
  CHECK(ms_since(t0) < 2000);

  // node_config::call_timeout is the default when a call sets none.
  mesh::node_config cfg = local_config(2);
  cfg.call_timeout = 150ms;
  test_node short_node{cfg};
  short_node.register_capabilities<work>();
  auto held2 = short_node.call_async<Gated>("g", Hold{}, 20s);
  REQUIRE(eventually([] { return probe.held.load() == 2; }));
  t0 = clock_type::now();
  auto d = short_node.call<Gated>("g", Ping{});
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().code == mesh::errc::timeout);
  CHECK(ms_since(t0) < 2000);

  probe.hold_gate.open();
  auto h = held.get();
  REQUIRE(h.has_value());
  CHECK(h->value == true);  // the held handler itself was not cut short
  CHECK(held2.get().has_value());
  CHECK(n.call<Gated>("g", Ping{}).has_value());  // and the activation serves again
}

TEST_CASE("full mailbox rejects with overloaded and every accepted message is processed") {
  probe.reset();
  mesh::node_config cfg = local_config(2);
  cfg.mailbox_capacity = 4;
  test_node n{cfg};
  n.register_capabilities<work>();
  auto held = n.call_async<Gated>("g", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 1; }));  // running, so no longer in the mailbox

  int accepted = 0, overloaded = 0, other = 0;
  for (int i = 0; i < 20; ++i) {
    auto c = n.cast<Gated>("g", Ping{});
    if (c) ++accepted;
    else if (c.error().code == mesh::errc::overloaded) ++overloaded;
    else ++other;
  }
  CHECK(accepted == 4);
  CHECK(overloaded == 16);
  CHECK(other == 0);

  auto t0 = clock_type::now();
  auto sync = n.call<Gated>("g", Ping{});
  REQUIRE_FALSE(sync.has_value());
  CHECK(sync.error().code == mesh::errc::overloaded);  // at once, not after the call timeout
  CHECK(ms_since(t0) < 2000);
  auto async = n.call_async<Gated>("g", Ping{}).get();
  REQUIRE_FALSE(async.has_value());
  CHECK(async.error().code == mesh::errc::overloaded);
  CHECK(n.call<Gated>("other", Ping{}).has_value());  // other activations are unaffected

  probe.hold_gate.open();
  REQUIRE(held.get().has_value());
  // Queued behind the accepted pings (retried while the mailbox is still full of them).
  mesh::result<mesh::reply<long>> handled = mesh::fail(mesh::errc::overloaded, "not asked yet");
  CHECK(eventually([&] {
    handled = n.call<Gated>("g", Handled{});
    return handled.has_value() || handled.error().code != mesh::errc::overloaded;
  }));
  REQUIRE(handled.has_value());
  CHECK(handled->value == 1 + accepted);
}

TEST_CASE("thousands of outstanding call_async futures all complete with their own values") {
  probe.reset();
  test_node n{local_config(4)};
  n.register_capabilities<counters>();
  constexpr int actors = 40;
  constexpr int per_actor = 100;
  std::vector<std::pair<int, mesh::future<long>>> pending;
  pending.reserve(actors * per_actor);
  for (int i = 0; i < per_actor; ++i)
    for (int a = 0; a < actors; ++a) pending.emplace_back(a, n.call_async<Counter>("c" + std::to_string(a), Add{1}));

  std::map<int, std::set<long>> seen;
  int failures = 0;
  std::string first_error;
  for (auto& [a, f] : pending) {
    auto r = f.get();
    if (!r) {
      if (failures++ == 0) first_error = std::string(mesh::to_string(r.error().code)) + ": " + r.error().message;
      continue;
    }
    CHECK(r->ref.id == "c" + std::to_string(a));
    seen[a].insert(r->value);
  }
  CHECK(failures == 0);
  CHECK(first_error == "");
  REQUIRE(seen.size() == static_cast<std::size_t>(actors));
  for (auto const& [a, values] : seen) {
    // Each Add returned the running count: exactly 1..per_actor, each once.
    CHECK(values.size() == static_cast<std::size_t>(per_actor));
    CHECK(*values.begin() == 1);
    CHECK(*values.rbegin() == per_actor);
  }
  CHECK(probe.overlaps.load() == 0);
}

TEST_CASE("future then runs its continuation exactly once, on reply and on timeout") {
  probe.reset();
  test_node n{local_config(2)};
  n.register_capabilities<work, counters>();

  // Continued before the reply: runs when the reply arrives.
  std::atomic<int> runs{0};
  std::atomic<bool> value_ok{false};
  auto held = n.call_async<Gated>("g", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 1; }));
  held.then([&](mesh::result<mesh::reply<bool>> r) {
    value_ok = r.has_value() && r->value;
    ++runs;
  });
  std::this_thread::sleep_for(10ms);
  CHECK(runs == 0);
  probe.hold_gate.open();
  CHECK(eventually([&] { return runs == 1; }));
  CHECK(value_ok);

  // Continued after the reply arrived: runs once, at once or soon.
  std::atomic<int> late_runs{0};
  std::string who;
  auto done = n.call_async<Named>("x", WhoAmI{});
  REQUIRE(done.wait_for(5s));
  done.then([&](mesh::result<mesh::reply<std::string>> r) {
    if (r) who = r->value;
    ++late_runs;
  });
  CHECK(eventually([&] { return late_runs == 1; }));
  CHECK(who == "x");

  // Continued, then timed out: runs once with errc::timeout, even though the reply never comes.
  probe.hold_gate.close();
  auto busy = n.call_async<Gated>("t", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 1; }));
  std::atomic<int> timeout_runs{0};
  std::atomic<int> code{-1};
  auto t0 = clock_type::now();
  n.call_async<Gated>("t", Ping{}, 50ms).then([&](mesh::result<mesh::reply<long>> r) {
    code = r ? 0 : static_cast<int>(r.error().code);
    ++timeout_runs;
  });
  CHECK(eventually([&] { return timeout_runs == 1; }, 5s));
  CHECK(ms_since(t0) < 2000);
  CHECK(code == static_cast<int>(mesh::errc::timeout));
  probe.hold_gate.open();
  REQUIRE(busy.get().has_value());
  REQUIRE(n.call<Gated>("t", Handled{}).has_value());  // the activation moved past the expired call
  std::this_thread::sleep_for(20ms);
  CHECK(timeout_runs == 1);
  CHECK(runs == 1);
}

TEST_CASE("a continuation that throws is logged, and the thread that ran it goes on") {
  probe.reset();
  struct log_lines {
    std::mutex m;
    std::vector<std::string> v;
    std::size_t count(std::string_view text) {
      std::lock_guard lk(m);
      return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [&](auto const& l) { return l.find(text) != std::string::npos; }));
    }
  };
  auto lines = std::make_shared<log_lines>();
  auto cfg = local_config(2);
  cfg.logger = [lines](std::string_view l) {
    std::lock_guard lk(lines->m);
    lines->v.emplace_back(l);
  };
  test_node n{cfg};
  n.register_capabilities<work, counters>();

  // Run by a worker (the reply to a held call), by the timer (deadline), and at once by then()
  // on this thread (already complete): none of them lets the exception out.
  std::atomic<int> ran{0};
  auto held = n.call_async<Gated>("g", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 1; }));
  held.then([&](mesh::result<mesh::reply<bool>>) {
    ++ran;
    throw std::runtime_error("boom on a worker");
  });
  n.call_async<Gated>("g", Ping{}, 30ms).then([&](mesh::result<mesh::reply<long>> r) {
    ++ran;
    if (!r) throw std::runtime_error("boom on the timer");
  });
  CHECK(eventually([&] { return ran.load() == 1; }, 5s));  // the timeout fired first
  probe.hold_gate.open();
  CHECK(eventually([&] { return ran.load() == 2; }, 5s));
  auto done = n.call_async<Counter>("c", Add{1});
  REQUIRE(done.wait_for(5s));
  CHECK_NOTHROW(done.then([&](mesh::result<mesh::reply<long>>) {
    ++ran;
    throw 42;  // not a std::exception
  }));
  CHECK(ran.load() == 3);
  CHECK(eventually([&] {
    return lines->count("boom on a worker") == 1 && lines->count("boom on the timer") == 1 &&
           lines->count("non-std exception") == 1;
  }));
  CHECK(lines->count("continuation threw") == 3);

  // The worker and the timer survived: calls and timeouts still work.
  auto again = n.call<Counter>("c", Add{1});
  REQUIRE(again.has_value());
  CHECK(again->value == 2);
  std::atomic<int> timed_out{0};
  probe.hold_gate.close();
  auto blocker = n.call_async<Gated>("g2", Hold{});
  REQUIRE(eventually([] { return probe.held.load() == 1; }));
  n.call_async<Gated>("g2", Ping{}, 20ms).then([&](mesh::result<mesh::reply<long>> r) {
    if (!r && r.error().code == mesh::errc::timeout) ++timed_out;
  });
  CHECK(eventually([&] { return timed_out.load() == 1; }, 5s));
  probe.hold_gate.open();
  CHECK(blocker.get().has_value());
}

TEST_CASE("the timer thread reports a task that throws and runs the tasks after it") {
  std::mutex m;
  std::vector<std::string> lines;
  mesh::detail::timer_thread timer([&](std::string_view l) {
    std::lock_guard lk(m);
    lines.emplace_back(l);
  });
  std::atomic<int> ran{0};
  auto const now = mesh::detail::clock::now();
  timer.at(now + 5ms, [] { throw std::runtime_error("out of memory in a reaper round"); });
  timer.at(now + 10ms, [] { throw 7; });
  timer.at(now + 20ms, [&] { ++ran; });
  CHECK(eventually([&] { return ran.load() == 1; }));
  std::lock_guard lk(m);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "a timer task threw: out of memory in a reaper round");
  CHECK(lines[1] == "a timer task threw: a non-std exception");
}

TEST_CASE("destroying a call_async future without get does not block") {
  probe.reset();
  test_node n{local_config(2)};
  n.register_capabilities<work>();
  auto t0 = clock_type::now();
  {
    auto held = n.call_async<Gated>("g", Hold{});
    REQUIRE(eventually([] { return probe.held.load() == 1; }));
    auto queued = n.call_async<Gated>("g", Ping{});
    (void)queued;
  }  // both futures dropped while the handler is still blocked
  CHECK(ms_since(t0) < 2000);
  CHECK(probe.held.load() == 1);
  probe.hold_gate.open();
  CHECK(eventually([] { return probe.held.load() == 0; }));
  CHECK(n.call<Gated>("g", Ping{}).has_value());
}

TEST_CASE("calls that race their deadline end with the reply or with timeout, nothing else") {
  test_node n{local_config(4)};
  n.register_capabilities<work>();
  constexpr int callers = 4;
  constexpr int per_caller = 1500;
  std::atomic<int> replies{0}, timeouts{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < callers; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_caller; ++i) {
        // The handler takes about as long as the deadline allows: replies and expiries collide.
        auto r = n.call_async<Gated>("g" + std::to_string(t), Sleep{1}, 1ms).get();
        if (r) ++replies;
        else if (r.error().code == mesh::errc::timeout) ++timeouts;
        else ++other;
      }
    });
  }
  for (auto& t : ts) t.join();
  CHECK(other.load() == 0);
  CHECK(replies.load() + timeouts.load() == callers * per_caller);
}

TEST_CASE("reply_spin: a thread spins while its spins end with a reply, backs off when they do not, and recovers") {
  using mesh::detail::reply_spin;
  auto const budget = std::chrono::microseconds(100);
  CHECK(reply_spin::max_spinners() == static_cast<int>(std::thread::hardware_concurrency() / 2));
  if (reply_spin::max_spinners() == 0) {  // one core: nobody spins
    CHECK_FALSE(reply_spin::begin(budget));
    return;
  }
  // A fresh thread: the statistics are per thread.
  std::thread([&] {
    CHECK_FALSE(reply_spin::begin(std::chrono::microseconds(0)));  // reply_spin = 0: never
    // One wait: true when it spun; a spin ends with a message when `hit`.
    auto wait_once = [&](bool hit) {
      if (!reply_spin::begin(budget)) return false;
      reply_spin::end(hit);
      return true;
    };
    auto spins_in = [&](int waits, bool hit) {
      int n = 0;
      for (int i = 0; i < waits; ++i) n += wait_once(hit);
      return n;
    };
    REQUIRE(spins_in(50, true) == 50);
    // Spins that end without a message: the share of hits (weighted 1/8 per spin) falls below a
    // quarter after the 11th (0.875^11 < 0.25 <= 0.875^10); from then on only every 16th wait spins.
    CHECK(spins_in(20, false) == 11);
    CHECK(spins_in(160, false) == 10);
    // Probes that hit bring it back: once the share is a quarter again, every wait spins.
    int waits = 0;
    for (int streak = 0; streak < 5 && waits < 200; ++waits) streak = wait_once(true) ? streak + 1 : 0;
    CHECK(waits < 100);
  }).join();
  // At most max_spinners() threads spin at once (here: slots held by one thread).
  std::thread([&] {
    int held = 0;
    while (held < 1000 && reply_spin::begin(budget)) ++held;
    CHECK(held == reply_spin::max_spinners());
    for (int i = 0; i < held; ++i) reply_spin::end(true);
    CHECK(reply_spin::begin(budget));  // slots are given back
    reply_spin::end(true);
  }).join();
}

#if defined(__linux__)
TEST_CASE("a call given up in poll(2) by one thread, then waited on by a helping worker, is woken by its completion") {
  using namespace mesh::detail;
  using namespace std::chrono_literals;
  // A transport whose fd never signals: the waits below end by the call's own wake-up or deadline.
  struct quiet_reader final : reply_reader {
    int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ~quiet_reader() { ::close(fd); }
    bool try_read() override { return true; }
    int readable_fd() const noexcept override { return fd; }
    void watching(bool) noexcept override {}
  } reader;
  struct idle_helper final : wait_helper {  // a worker with nothing else to run
    void help_while_waiting(std::function<bool()> const&, clock::time_point) override {}
  } helper;
  auto st = std::make_shared<call_state<mesh::result<int>>>(clock::now() + 3s);
  st->read_by(&reader);
  // The first waiter sleeps in poll(2) on its thread's eventfd, gives up, and its thread ends.
  std::thread([&] { CHECK_FALSE(st->wait_until(clock::now() + 20ms)); }).join();
  // The second waits as a worker does (on the futex); the completion must wake it there.
  std::thread completer([&] {
    std::this_thread::sleep_for(100ms);
    CHECK(st->complete(7));
  });
  auto const t0 = clock::now();
  std::optional<mesh::result<int>> r;
  std::thread([&] {
    scoped_context<wait_helper> helping(&thread_context::helper, &helper);
    r = st->take();
  }).join();
  completer.join();
  REQUIRE(r);
  REQUIRE(r->has_value());
  CHECK(**r == 7);
  CHECK(clock::now() - t0 < 2s);  // ~100 ms; the deadline, 3 s away, would mean the wake-up went astray
}
#endif
