// Shared by the benchmark binaries: the options every one of them takes, --runs N, --duration
// SECONDS, --quick and --help, parsed in one place; a binary's own options go to a callback.
// Header-only, standard library.
#pragma once

#include "timed.hpp"  // default_duration_s, parse_seconds

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace mesh_bench {

/// What the shared options asked for.
struct run_options {
  int runs = 5;                                 // --runs N: repetitions of every case (N >= 1)
  double duration_s = default_duration_s;       // --duration S: per timed case, run and system
  bool quick = false;                           // --quick: a smoke run
  bool runs_given = false, duration_given = false;

  /// --quick's defaults where --runs / --duration were not given (quick_runs 0: keep the runs).
  void quick_defaults(int quick_runs, double quick_duration) {
    if (!quick) return;
    if (!runs_given && quick_runs > 0) runs = quick_runs;
    if (!duration_given) duration_s = quick_duration;
  }
};

/// Prints `usage` (stdout for --help with status 0, stderr otherwise) and exits with `status`.
[[noreturn]] inline void usage_exit(std::string_view usage, int status) {
  std::fprintf(status ? stderr : stdout, "%.*s", static_cast<int>(usage.size()), usage.data());
  std::exit(status);
}

/// Walks argv: --runs N, --duration SECONDS, --quick, --help / -h. Any other argument goes to
/// `extra(arg, next)`, where `next()` returns the argument after it (usage and exit 2 when there
/// is none); `extra` returns false for an argument it does not know: usage on stderr, exit 2.
template <class Extra>
run_options parse_options(int argc, char** argv, std::string_view usage, Extra&& extra) {
  run_options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view const a = argv[i];
    auto next = [&]() -> std::string_view {
      if (i + 1 >= argc) usage_exit(usage, 2);
      return argv[++i];
    };
    if (a == "--runs") {
      auto const v = next();
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.runs);
      if (ec != std::errc{} || p != v.data() + v.size() || o.runs < 1) usage_exit(usage, 2);
      o.runs_given = true;
    } else if (a == "--duration") {
      auto const d = parse_seconds(next());
      if (!d) usage_exit(usage, 2);
      o.duration_s = *d;
      o.duration_given = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--help" || a == "-h") {
      usage_exit(usage, 0);
    } else if (!extra(a, next)) {
      usage_exit(usage, 2);
    }
  }
  return o;
}

/// For a binary with no options of its own.
inline run_options parse_options(int argc, char** argv, std::string_view usage) {
  return parse_options(argc, argv, usage, [](std::string_view, auto&&) { return false; });
}

}  // namespace mesh_bench
