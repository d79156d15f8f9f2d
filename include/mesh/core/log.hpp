#pragma once
/// Log lines of mesh's threads (node_config::logger, flow::network_config::logger).

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mesh {

/// How much a log line matters; node_config::log_level drops the lines below it.
enum class log_level : std::uint8_t {
  debug = 0,    ///< detail for whoever debugs mesh itself
  info = 1,     ///< membership changes: joins, leaves, restarts (the default level)
  warning = 2,  ///< something a peer did wrong or that was refused: bad frames, refused peers, dead members
  error = 3,    ///< user code failed where no caller could be told: continuations, on_deactivate, timer tasks
};

/// "debug", "info", "warning", "error".
constexpr std::string_view to_string(log_level l) noexcept {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "unknown";
}

/// What node_config::logger holds: a callable taking (log_level, std::string_view), or one taking
/// only the line (it then gets every line that passes node_config::log_level). Empty: stderr.
class log_handler {
 public:
  log_handler() = default;
  template <class F>
    requires std::is_invocable_v<F&, log_level, std::string_view>
  log_handler(F f) : f_(std::move(f)) {}  // NOLINT: implicit, so that `cfg.logger = lambda` works
  template <class F>
    requires(!std::is_invocable_v<F&, log_level, std::string_view> && std::is_invocable_v<F&, std::string_view>)
  log_handler(F f) : f_([g = std::move(f)](log_level, std::string_view line) mutable { g(line); }) {}  // NOLINT
  explicit operator bool() const noexcept { return static_cast<bool>(f_); }
  void operator()(log_level l, std::string_view line) const { f_(l, line); }

 private:
  std::function<void(log_level, std::string_view)> f_;
};

}  // namespace mesh

namespace mesh::detail {

/// What an exception says: its what(), or "a non-std exception".
[[gnu::cold, gnu::noinline]] inline std::string exception_text(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (std::exception const& e) {
    return e.what();
  } catch (...) {
    return "a non-std exception";
  }
}

/// Writes one line through `logger`, or to stderr as "[<tag>] <line>" when there is none. Logging
/// happens on mesh's own threads (the I/O thread, workers, the timer): a logger that throws must
/// not end them, so its exception is dropped and the line goes to stderr instead.
inline void write_log(std::function<void(std::string_view)> const& logger, std::string_view tag,
                      std::string_view line) noexcept {
  if (logger) {
    try {
      logger(line);
      return;
    } catch (...) {
    }
  }
  std::fprintf(stderr, "[%.*s] %.*s\n", static_cast<int>(tag.size()), tag.data(), static_cast<int>(line.size()),
               line.data());
}

/// write_log for a node's handler: lines below `threshold` are dropped; without a handler they go
/// to stderr as "[<tag>] <level>: <line>".
inline void write_log(log_handler const& logger, log_level threshold, std::string_view tag, log_level level,
                      std::string_view line) noexcept {
  if (level < threshold) return;
  if (logger) {
    try {
      logger(level, line);
      return;
    } catch (...) {
    }
  }
  auto const l = to_string(level);
  std::fprintf(stderr, "[%.*s] %.*s: %.*s\n", static_cast<int>(tag.size()), tag.data(), static_cast<int>(l.size()), l.data(),
               static_cast<int>(line.size()), line.data());
}

}  // namespace mesh::detail
