// The actor scenario's floor: the same Counter run inline from a mutex-guarded hash map (no
// scheduling, no futures, one thread): what any runtime pays for "find the actor, run its handler".
#include "workloads.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bench {
namespace {

/// Baseline: the same Counter in a std::unordered_map guarded by one mutex, its handler run inline
/// on the caller's thread; call_async returns an already-completed future.
class inline_map_backend {
 public:
  static constexpr std::string_view label = "baseline_inline_map";
  struct future_type {
    bool ok = false;
    bool has = false;
    bool valid() const noexcept { return has; }
  };

  bool call(std::string_view id, long n) {
    std::lock_guard lk(m_);
    sink_ += find_or_create(id).handle(Add{n});
    return true;
  }
  future_type call_async(std::string_view id, long n) { return {call(id, n), true}; }
  bool get(future_type& f) {
    f.has = false;
    return f.ok;
  }
  long total(std::string_view id) {
    std::lock_guard lk(m_);
    auto it = map_.find(id);
    return it == map_.end() ? -1 : it->second.total;
  }
  std::size_t activations() const {
    std::lock_guard lk(m_);
    return map_.size();
  }
  std::size_t workers() const { return 1; }
  long sink() const { return sink_; }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  Counter& find_or_create(std::string_view id) {
    auto it = map_.find(id);
    if (it == map_.end()) it = map_.try_emplace(std::string(id), id).first;
    return it->second;
  }
  mutable std::mutex m_;
  std::unordered_map<std::string, Counter, string_hash, std::equal_to<>> map_;
  long sink_ = 0;
};

}  // namespace

system inline_map_system() { return system_of<inline_map_backend>(); }

}  // namespace bench
