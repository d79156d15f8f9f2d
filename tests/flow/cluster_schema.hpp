#pragma once
// The schema shared by the flow system test and its member processes: logics that cross
// processes (each with a stable `name`), hosted by mesh::flow::host.
#include <mesh/mesh.hpp>
#include <mesh/flow.hpp>
#include <mesh/flow/cluster.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace flow_cluster {

struct Reading {
  BOOST_HANA_DEFINE_STRUCT(Reading, (std::string, sensor), (int, value));
};

/// Forwards readings, counting them.
struct Source {
  static constexpr mesh::fixed_string name = "source";
  using input = Reading;
  using output = Reading;
  void process(Reading const& r, mesh::flow::emitter<Reading>& out) {
    ++seen;
    out.broadcast(r);
  }
  long retrieve() const { return seen; }
  long seen = 0;
};

/// Passes readings at or above a threshold.
struct Threshold {
  static constexpr mesh::fixed_string name = "threshold";
  using input = Reading;
  using output = Reading;
  struct options {
    BOOST_HANA_DEFINE_STRUCT(options, (int, min));
  };
  explicit Threshold(options o) : opts(o) {}
  void process(Reading const& r, mesh::flow::emitter<Reading>& out) {
    if (r.value < 0) throw std::runtime_error("negative reading");
    if (r.value >= opts.min) out.broadcast(r);
  }
  options opts;
};

/// Keeps every value it receives; retrieve(sensor) counts one sensor's readings.
struct Collector {
  static constexpr mesh::fixed_string name = "collector";
  using input = Reading;
  using key = std::string;
  void process(Reading const& r) { values.push_back(r.value), ++by_sensor[r.sensor]; }
  std::vector<int> retrieve() const { return values; }
  long retrieve(std::string const& sensor) const {
    auto it = by_sensor.find(sensor);
    return it == by_sensor.end() ? 0 : it->second;
  }
  std::vector<int> values;
  std::map<std::string, long> by_sensor;
};

/// Routes each reading to ("bucket", value % 3) by id.
struct Router {
  static constexpr mesh::fixed_string name = "router";
  using input = Reading;
  using output = Reading;
  void process(Reading const& r, mesh::flow::emitter<Reading>& out) {
    if (!out.send_to(std::tuple{"bucket", r.value % 3}, r)) ++failures;
  }
  long retrieve() const { return failures; }
  long failures = 0;
};

/// Takes text (for type mismatches across processes).
struct Words {
  static constexpr mesh::fixed_string name = "words";
  using input = std::string;
  void process(std::string const& s) { words.push_back(s); }
  std::vector<std::string> retrieve() const { return words; }
  std::vector<std::string> words;
};

using schema = mesh::schema<mesh::flow::host<Source, Threshold, Collector, Router, Words>>;

}  // namespace flow_cluster
