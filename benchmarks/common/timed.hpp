// Shared by the benchmark binaries: the fixed-duration rule, the latency histogram and the
// per-run figures of a timed case (summaries, work logs and their JSON).
//
// Every timed case repeats a count-sized round (the workload's shape: its window of outstanding
// requests, its ids) until a wall-clock duration has passed, and always completes at least one
// round; the figure is operations / time inside the rounds. One rule for every system in a case,
// so a fast system does more rounds rather than finishing early. Header-only, standard library.
#pragma once

#include "json.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mesh_bench {

using steady = std::chrono::steady_clock;

/// Default --duration of a timed case, per run and per system (seconds), and with --quick.
inline constexpr double default_duration_s = 2.0;
inline constexpr double quick_duration_s = 0.1;

inline double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

/// "2", "0.5": a non-negative, finite number of seconds; nullopt otherwise.
inline std::optional<double> parse_seconds(std::string_view s) {
  std::string const z(s);  // strtod needs a terminator
  char* end = nullptr;
  double const v = std::strtod(z.c_str(), &end);
  if (z.empty() || end != z.c_str() + z.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

/// What one round did: operations completed and the seconds they took (the timed part only).
struct round_result {
  std::uint64_t operations = 0;
  double seconds = 0;
};

/// Totals of one run of a timed case.
struct timed_totals {
  std::size_t rounds = 0;
  std::uint64_t operations = 0;
  double seconds = 0;       // sum of the rounds' timed seconds
  double wall_seconds = 0;  // the whole loop, untimed per-round setup and teardown included
  double rate() const { return seconds > 0 ? static_cast<double>(operations) / seconds : 0; }
};

/// Calls round() (-> round_result) until `duration_s` of wall-clock time has passed since the
/// first call, finishing the round in progress; at least one round (duration 0: exactly one,
/// used for warm-ups). Whatever round() does outside its timed part (a fresh node, teardown)
/// counts against the duration but not in the rate.
template <class Round>
timed_totals run_for(double duration_s, Round&& round) {
  auto const start = steady::now();
  auto const deadline = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(duration_s));
  timed_totals t;
  do {
    round_result const r = round();
    ++t.rounds;
    t.operations += r.operations;
    t.seconds += r.seconds;
  } while (steady::now() < deadline);
  t.wall_seconds = seconds_since(start);
  return t;
}

/// Latencies in nanoseconds, all samples of a run in bounded memory (a run's sample count grows
/// with the duration: tens of millions for an inline call). Values below 4,096 ns are counted
/// exactly; above, 2,048 buckets per power of two (relative error below 0.05%). Quantiles use
/// the nearest rank and report the bucket's lower bound.
class latency_histogram {
 public:
  void record(std::int64_t ns) {
    auto const v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
    auto const i = index_of(v);
    if (i >= counts_.size()) counts_.resize(i + 1, 0);
    ++counts_[i];
    ++n_;
    sum_ += static_cast<double>(v);
  }
  std::uint64_t count() const noexcept { return n_; }
  double mean() const noexcept { return n_ ? sum_ / static_cast<double>(n_) : NAN; }
  /// Value at quantile q in [0, 1] (nearest rank), NAN when empty.
  double quantile(double q) const {
    if (n_ == 0) return NAN;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n_)));
    rank = std::clamp<std::uint64_t>(rank, 1, n_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return static_cast<double>(value_of(i));
    }
    return static_cast<double>(value_of(counts_.size() - 1));
  }

 private:
  static constexpr int sub_bits = 11;
  static constexpr std::uint64_t sub = std::uint64_t{1} << sub_bits;
  static constexpr std::uint64_t exact = sub << 1;  // 4096

  static std::size_t index_of(std::uint64_t v) {
    if (v < exact) return static_cast<std::size_t>(v);
    int const e = 63 - std::countl_zero(v);  // >= sub_bits + 1
    auto const mantissa = (v >> (e - sub_bits)) & (sub - 1);
    return static_cast<std::size_t>(exact + static_cast<std::uint64_t>(e - sub_bits - 1) * sub + mantissa);
  }
  static std::uint64_t value_of(std::size_t i) {
    if (i < exact) return i;
    auto const k = static_cast<std::uint64_t>(i) - exact;
    int const e = static_cast<int>(k >> sub_bits) + sub_bits + 1;
    return ((sub | (k & (sub - 1))) << (e - sub_bits));
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t n_ = 0;
  double sum_ = 0;
};

/// Median (mean of the two middle values for an even count), min and max of per-run figures.
struct stats {
  double median = NAN, min = NAN, max = NAN;
  std::vector<double> runs;
};

inline stats summarize(std::vector<double> v) {
  stats s;
  s.runs = v;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  auto const n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  return s;
}

/// Per-run totals of one system in one timed case: what the JSON records next to the figures.
struct work_log {
  double duration_s = 0;
  std::vector<double> rounds, operations, timed_seconds;
  void add(timed_totals const& t) {
    rounds.push_back(static_cast<double>(t.rounds));
    operations.push_back(static_cast<double>(t.operations));
    timed_seconds.push_back(t.seconds);
  }
  /// `"duration_s": 2, "rounds": [..], "operations": [..], "timed_seconds": [..]` (one per run).
  std::string json_fields() const {
    return "\"duration_s\": " + json_number(duration_s) + ", \"rounds\": " + json_list(rounds) +
           ", \"operations\": " + json_list(operations) + ", \"timed_seconds\": " + json_list(timed_seconds);
  }
};

/// `{"median": .., "min": .., "max": .., "runs": [..]}` as a json_writer object.
inline void write_summary(json_writer& j, stats const& s) {
  j.begin_object().field("median", s.median).field("min", s.min).field("max", s.max).key("runs");
  write_list(j, s.runs);
  j.end_object();
}

/// One system's figure in one case on one line: `{"median": .., "min": .., "max": .., "runs": [..],
/// "duration_s": .., "rounds": [..], "operations": [..], "timed_seconds": [..]}`. `whole`: the
/// median, min, max and runs rounded to integers (rates in items/s).
inline std::string json_figure(stats const& s, work_log const& w, bool whole = false) {
  auto num = [whole](double d) { return json_number(whole ? std::round(d) : d); };
  std::string runs;
  for (double x : s.runs) runs += (runs.empty() ? "" : ", ") + num(x);
  return "{\"median\": " + num(s.median) + ", \"min\": " + num(s.min) + ", \"max\": " + num(s.max) +
         ", \"runs\": [" + runs + "], " + w.json_fields() + "}";
}

}  // namespace mesh_bench
