#pragma once
// Logic types shared by the flow tests (DataMesh's test logics, typed).
#include <mesh/flow.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace flow_test {

/// Forwards what it gets to every linked node (DataMesh's TestSourceLogic).
struct Source {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) {
    ++seen;
    out.broadcast(v);
  }
  long retrieve() const { return seen; }
  long seen = 0;
};

/// Keeps every item it receives, in order (DataMesh's TestCollectorLogic).
struct Collector {
  using input = int;
  void process(int const& v) { items.push_back(v); }
  std::vector<int> retrieve() const { return items; }
  std::vector<int> items;
};

/// Passes items above a threshold.
struct Threshold {
  using input = int;
  using output = int;
  struct options {
    int threshold = 0;
  };
  explicit Threshold(options o) : opts(o) {}
  void process(int const& v, mesh::flow::emitter<int>& out) {
    if (v > opts.threshold) out.broadcast(v);
  }
  options opts;
};

/// Sums what it gets; keyed retrieve answers one statistic.
struct Stats {
  using input = int;
  using key = std::string;
  void process(int const& v) {
    sum += v;
    ++count;
  }
  long retrieve() const { return sum; }
  long retrieve(std::string const& k) const { return k == "count" ? count : k == "sum" ? sum : -1; }
  long sum = 0;
  long count = 0;
};

/// Throws on negative items; its state (the count) must survive.
struct Fragile {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) {
    if (v < 0) throw std::runtime_error("negative item " + std::to_string(v));
    ++count;
    out.broadcast(v);
  }
  long retrieve() const { return count; }
  long count = 0;
};

/// Mutates its state, then throws: with rollback_on_error the mutation is undone.
struct Transactional {
  using input = int;
  static constexpr bool rollback_on_error = true;
  void process(int const& v) {
    total += v;
    if (v < 0) throw std::runtime_error("rolled back");
  }
  long retrieve() const { return total; }
  long total = 0;
};

/// Routes each item to the collector named by the item: send_to by id.
struct Router {
  using input = int;
  using output = int;
  void process(int const& v, mesh::flow::emitter<int>& out) {
    auto r = out.send_to(std::tuple{"bucket", v % 3}, v);
    if (!r) ++failures;
  }
  long retrieve() const { return failures; }
  long failures = 0;
};

/// Emits strings (to test type mismatches).
struct Namer {
  using input = int;
  using output = std::string;
  void process(int const& v, mesh::flow::emitter<std::string>& out) { out.broadcast("item " + std::to_string(v)); }
};

struct Words {
  using input = std::string;
  void process(std::string const& s) { words.push_back(s); }
  std::vector<std::string> retrieve() const { return words; }
  std::vector<std::string> words;
};

/// A slow sink: sleeps per item (to fill queues).
struct Slow {
  using input = int;
  struct options {
    int micros = 1000;
  };
  explicit Slow(options o) : opts(o) {}
  void process(int const&) {
    std::this_thread::sleep_for(std::chrono::microseconds(opts.micros));
    ++count;
  }
  long retrieve() const { return count; }
  options opts;
  long count = 0;
};

/// Emits n copies of each item (a logic may emit many items per input).
struct Repeat {
  using input = int;
  using output = int;
  struct options {
    int times = 2;
  };
  explicit Repeat(options o) : opts(o) {}
  void process(int const& v, mesh::flow::emitter<int>& out) {
    for (int i = 0; i < opts.times; ++i) out.broadcast(v);
  }
  options opts;
};

struct BadConstructor {
  using input = int;
  struct options {
    int x = 0;
  };
  explicit BadConstructor(options o) {
    if (o.x < 0) throw std::invalid_argument("x must not be negative");
  }
  void process(int const&) {}
};

}  // namespace flow_test
