#pragma once
/// Log lines of mesh's threads (node_config::logger, flow::network_config::logger).

#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

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

}  // namespace mesh::detail
