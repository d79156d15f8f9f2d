#pragma once
// Actors, messages and small synchronization helpers shared by the actor-layer tests.
// Observations that must outlive an activation (constructions, deactivations, overlaps) go to
// the global `probe`; each test case starts with probe.reset().

#include <mesh/mesh.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace actor_test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// A latch a test opens to let blocked handlers go. Handlers never wait longer than 20 s, so a
/// broken test fails (through its results) instead of hanging forever.
class gate {
 public:
  void open() {
    {
      std::lock_guard lk(m_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void close() {
    std::lock_guard lk(m_);
    open_ = false;
  }
  bool wait(std::chrono::milliseconds max = 20s) {
    std::unique_lock lk(m_);
    return cv_.wait_for(lk, max, [&] { return open_; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct probe_t {
  std::atomic<int> counter_constructed{0};
  std::atomic<int> counter_deactivated{0};
  std::atomic<int> overlaps{0};          // a handler found another handler of its activation running
  std::atomic<int> held{0};              // Gated handlers currently blocked on the gate
  std::atomic<int> gated_deactivated{0};
  std::atomic<int> cast_failures{0};     // casts made by handlers that returned an error
  std::atomic<int> stop_calls_ok{0};     // calls a handler made before its node started stopping
  std::atomic<int> stop_call_code{-1};   // errc of the first failed call while the node stops
  std::atomic<int> stop_cast_code{-1};
  std::atomic<int> stop_async_code{-1};
  std::atomic<bool> stopper_running{false};
  std::atomic<bool> deactivate_throws{false};  // Gated::on_deactivate throws
  gate hold_gate;

  void reset() {
    counter_constructed = 0;
    counter_deactivated = 0;
    overlaps = 0;
    held = 0;
    gated_deactivated = 0;
    cast_failures = 0;
    stop_calls_ok = 0;
    stop_call_code = -1;
    stop_cast_code = -1;
    stop_async_code = -1;
    stopper_running = false;
    deactivate_throws = false;
    hold_gate.close();
  }
};
inline probe_t probe;

/// Polls `pred` until it holds or `max` passes; returns its last value. For "eventually" checks.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds max = 10s) {
  auto const until = clock_type::now() + max;
  while (!pred()) {
    if (clock_type::now() >= until) return pred();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

inline long ms_since(clock_type::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count());
}

// ---- capabilities --------------------------------------------------------------------------
struct counters : mesh::capability<"counters"> {};
struct work : mesh::capability<"work"> {};
struct elsewhere : mesh::capability<"elsewhere"> {};  // never registered by the tests' nodes

// ---- messages ------------------------------------------------------------------------------
struct Start {
  BOOST_HANA_DEFINE_STRUCT(Start, (long, initial));
};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, amount));
};
struct Get {};
struct Reset {};
struct Boom {
  BOOST_HANA_DEFINE_STRUCT(Boom, (std::string, text));
};
struct BoomNonStd {};
struct Withdraw {
  BOOST_HANA_DEFINE_STRUCT(Withdraw, (long, amount));
};
struct WhoAmI {};
struct Hold {};
struct Ping {};
struct Handled {};
struct Append {
  BOOST_HANA_DEFINE_STRUCT(Append, (long, entry));
};
struct Entries {};
struct Ball {
  BOOST_HANA_DEFINE_STRUCT(Ball, (long, remaining));
};
struct Hits {};
struct Step {
  BOOST_HANA_DEFINE_STRUCT(Step, (long, depth), (bool, use_async), (std::string, chain));
};
struct Fan {
  BOOST_HANA_DEFINE_STRUCT(Fan, (long, width));
};
struct Value {};
struct Sleep {
  BOOST_HANA_DEFINE_STRUCT(Sleep, (long, ms));
};
struct CallWhileStopping {};

// ---- actors --------------------------------------------------------------------------------

/// A counter with an init argument; detects overlapping handlers; counts constructions and
/// deactivations in `probe`.
struct Counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = counters;
  using messages = mesh::list<Add, Get, Reset, Boom, BoomNonStd, Withdraw>;
  using init_arg = Start;

  Counter(std::string_view, Start const& s) : value(s.initial) { ++probe.counter_constructed; }

  long handle(Add const& a) {
    if (busy.exchange(true)) ++probe.overlaps;
    long const v = value;
    std::atomic<int> spin{0};  // widen the window in which an overlapping handler would be seen
    while (spin.fetch_add(1, std::memory_order_relaxed) < 200) {
    }
    value = v + a.amount;
    busy.store(false);
    return value;
  }
  long handle(Get const&) const { return value; }
  void handle(Reset const&) { value = 0; }
  long handle(Boom const& b) {
    value = -1;  // must not survive: the activation is discarded
    throw std::runtime_error(b.text);
  }
  long handle(BoomNonStd const&) { throw 42; }
  long handle(Withdraw const& w) {  // a domain error: refused before anything changes
    if (w.amount > value) throw mesh::rejected{"insufficient funds: balance " + std::to_string(value)};
    return value -= w.amount;
  }
  void on_deactivate() { ++probe.counter_deactivated; }

  long value;
  std::atomic<bool> busy{false};
};

/// Built from its id alone (no init_arg).
struct Named {
  static constexpr mesh::fixed_string name = "named";
  using capability = counters;
  using messages = mesh::list<WhoAmI, Add>;

  explicit Named(std::string_view id) : self(id) {}
  std::string handle(WhoAmI const&) const { return self; }
  long handle(Add const& a) { return total += a.amount; }

  std::string self;
  long total = 0;
};

/// Its constructor throws for ids starting with "bad".
struct Fragile {
  static constexpr mesh::fixed_string name = "fragile";
  using capability = counters;
  using messages = mesh::list<Ping>;

  explicit Fragile(std::string_view id) {
    if (id.substr(0, 3) == "bad") throw std::runtime_error("refusing to start " + std::string(id));
  }
  long handle(Ping const&) { return ++pings; }
  long pings = 0;
};

/// Hold blocks on probe.hold_gate; Ping and Handled count the messages it processed.
struct Gated {
  static constexpr mesh::fixed_string name = "gated";
  using capability = work;
  using messages = mesh::list<Hold, Ping, Handled, Sleep>;

  explicit Gated(std::string_view) {}
  bool handle(Hold const&) {
    ++handled;
    ++probe.held;
    bool const opened = probe.hold_gate.wait();
    --probe.held;
    return opened;
  }
  long handle(Ping const&) { return ++handled; }
  long handle(Handled const&) const { return handled; }
  long handle(Sleep const& s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(s.ms));
    return ++handled;
  }
  void on_deactivate() {
    ++probe.gated_deactivated;
    if (probe.deactivate_throws) throw std::runtime_error("cannot save state");
  }
  long handled = 0;
};

/// Records entries in arrival order.
struct Log {
  static constexpr mesh::fixed_string name = "log";
  using capability = work;
  using messages = mesh::list<Append, Entries>;

  explicit Log(std::string_view) {}
  void handle(Append const& a) { entries.push_back(a.entry); }
  std::vector<long> handle(Entries const&) const { return entries; }
  std::vector<long> entries;
};

/// Ping-pong between ids "ping" and "pong": each Ball is cast back to the other id.
struct Player {
  static constexpr mesh::fixed_string name = "player";
  using capability = work;
  using messages = mesh::list<Ball, Hits>;

  explicit Player(std::string_view) {}
  void handle(Ball const& b, mesh::context& ctx) {
    ++hits;
    if (b.remaining > 0) {
      auto const peer = ctx.self_id() == "ping" ? "pong" : "ping";
      if (!ctx.cast<Player>(peer, Ball{b.remaining - 1})) ++probe.cast_failures;
    }
  }
  long handle(Hits const&) const { return hits; }
  long hits = 0;
};

/// Step{depth} calls Step{depth - 1} on the next link of the same chain ("<chain>-<depth-1>"),
/// with ctx.call or ctx.call_async(...).get(); returns the number of links below it plus one.
struct Chain {
  static constexpr mesh::fixed_string name = "chain";
  using capability = work;
  using messages = mesh::list<Step>;

  explicit Chain(std::string_view) {}
  long handle(Step const& s, mesh::context& ctx) {
    if (s.depth == 0) return 1;
    auto const next = s.chain + "-" + std::to_string(s.depth - 1);
    Step const down{s.depth - 1, s.use_async, s.chain};
    if (s.use_async) {
      auto r = ctx.call_async<Chain>(next, down).get();
      if (!r) throw mesh::exception(r.error());
      return r->value + 1;
    }
    auto r = ctx.call<Chain>(next, down);
    if (!r) throw mesh::exception(r.error());
    return r->value + 1;
  }
};

/// Fan{width} asks `width` Leaf actors for their value concurrently and sums the replies.
struct Leaf {
  static constexpr mesh::fixed_string name = "leaf";
  using capability = work;
  using messages = mesh::list<Value>;

  explicit Leaf(std::string_view id) : v(std::stol(std::string(id.substr(5)))) {}  // "leaf-<n>"
  long handle(Value const&) const { return v; }
  long v;
};
struct Fanout {
  static constexpr mesh::fixed_string name = "fanout";
  using capability = work;
  using messages = mesh::list<Fan>;

  explicit Fanout(std::string_view) {}
  long handle(Fan const& f, mesh::context& ctx) {
    std::vector<mesh::future<long>> pending;
    for (long i = 0; i < f.width; ++i) pending.push_back(ctx.call_async<Leaf>("leaf-" + std::to_string(i), Value{}));
    long sum = 0;
    for (auto& p : pending) {
      auto r = p.get();
      if (!r) throw mesh::exception(r.error());
      sum += r->value;
    }
    return sum;
  }
};

/// Once started (by a cast), keeps calling, casting to and call_async-ing a Gated actor until
/// those fail, which happens when its node starts stopping; records the error codes.
struct Stopper {
  static constexpr mesh::fixed_string name = "stopper";
  using capability = work;
  using messages = mesh::list<CallWhileStopping>;

  explicit Stopper(std::string_view) {}
  void handle(CallWhileStopping const&, mesh::context& ctx) {
    probe.stopper_running = true;
    auto const until = clock_type::now() + 10s;
    while (clock_type::now() < until) {
      auto r = ctx.call<Gated>("target", Ping{});
      if (!r) {
        probe.stop_call_code = static_cast<int>(r.error().code);
        auto c = ctx.cast<Gated>("target", Ping{});
        probe.stop_cast_code = c ? 0 : static_cast<int>(c.error().code);
        auto a = ctx.call_async<Gated>("target", Ping{}).get();
        probe.stop_async_code = a ? 0 : static_cast<int>(a.error().code);
        return;
      }
      ++probe.stop_calls_ok;
      std::this_thread::sleep_for(1ms);
    }
  }
};

using app = mesh::schema<Counter, Named, Fragile, Gated, Log, Player, Chain, Leaf, Fanout, Stopper>;
using test_node = mesh::node<app>;

/// A single-process node named "n1". The default call timeout is generous so that a loaded CI
/// machine (or ThreadSanitizer's slowdown) cannot turn a slow reply into a spurious timeout;
/// tests about timeouts set their own.
inline mesh::node_config local_config(std::size_t workers = 4) {
  mesh::node_config cfg;
  cfg.name = "n1";
  cfg.workers = workers;
  cfg.call_timeout = 30s;
  return cfg;
}

}  // namespace actor_test
