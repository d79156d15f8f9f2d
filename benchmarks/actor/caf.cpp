// The actor scenario on the C++ Actor Framework 0.17 (Debian 12: libcaf-dev). Built only when
// CMake found it (MESH_BENCH_HAVE_CAF).
#include "workloads.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

namespace bench {
namespace {

/// CAF's scheduler policy for the caf backend ("stealing": CAF's default; "sharing"; --caf-scheduler).
std::string caf_scheduler = "stealing";

/// Peer baseline: the C++ Actor Framework 0.17. One caf::actor_system per run with as many
/// scheduler threads as mesh has workers. An "activation" is what mesh does for a virtual actor,
/// by hand: look the id up in a mutex-guarded hash map and, on a miss, spawn a stateful actor that
/// runs the same Counter (lazy_init: it is first scheduled by its first message). Calls are CAF
/// request/response from one scoped_actor (a blocking actor owned by the calling thread): call()
/// is request(...).receive(...); call_async() sends the request and keeps its response handle,
/// get() receives that response. Requests carry no timeout (caf::infinite: no timer per request).
class caf_backend {
 public:
  static constexpr std::string_view label = "caf";
  using add_atom = caf::atom_constant<caf::atom("add")>;
  using get_atom = caf::atom_constant<caf::atom("get")>;
  struct counter_state {
    Counter counter{std::string_view{}};
  };
  using counter_actor = caf::stateful_actor<counter_state>;
  using handle_type = decltype(std::declval<caf::scoped_actor&>()->request(
      std::declval<caf::actor const&>(), caf::infinite, add_atom::value, std::int64_t{}));
  struct future_type {
    std::optional<handle_type> h;
    bool valid() const noexcept { return h.has_value(); }
  };

  caf_backend() : sys_(config_), self_(sys_) {}
  ~caf_backend() {
    for (auto& [id, a] : actors_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors_.clear();
  }

  bool call(std::string_view id, long n) {
    future_type f = call_async(id, n);
    return get(f);
  }
  future_type call_async(std::string_view id, long n) {
    return {self_->request(find_or_spawn(id), caf::infinite, add_atom::value, std::int64_t{n})};
  }
  bool get(future_type& f) {
    bool ok = false;
    f.h->receive([&](std::int64_t) { ok = true; }, [&](caf::error& e) { note_error(sys_.render(e)); });
    f.h.reset();
    return ok;
  }
  long total(std::string_view id) {
    caf::actor a;
    {
      std::lock_guard lk(m_);
      auto it = actors_.find(id);
      if (it == actors_.end()) return -1;
      a = it->second;
    }
    long v = -1;
    self_->request(a, caf::infinite, get_atom::value).receive([&](std::int64_t t) { v = static_cast<long>(t); },
                                                               [&](caf::error& e) { note_error(sys_.render(e)); });
    return v;
  }
  std::size_t activations() const {
    std::lock_guard lk(m_);
    return actors_.size();
  }
  std::size_t workers() { return sys_.scheduler().num_workers(); }

 private:
  static caf::behavior counter_behavior(counter_actor* self) {
    return {
        [self](add_atom, std::int64_t n) -> std::int64_t { return self->state.counter.handle(Add{n}); },
        [self](get_atom) -> std::int64_t { return self->state.counter.handle(Get{}); },
    };
  }
  struct config : caf::actor_system_config {
    config() {
      set("scheduler.max-threads", static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency())));
      set("scheduler.policy", caf_scheduler == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
    }
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  caf::actor const& find_or_spawn(std::string_view id) {
    std::lock_guard lk(m_);
    auto it = actors_.find(id);
    if (it == actors_.end()) it = actors_.try_emplace(std::string(id), sys_.spawn<caf::lazy_init>(counter_behavior)).first;
    return it->second;  // stays valid: entries are only erased by the destructor
  }
  static void note_error(std::string const& what) {
    static std::once_flag once;
    std::call_once(once, [&] { std::fprintf(stderr, "[bench] caf: first failed call: %s\n", what.c_str()); });
  }
  config config_;
  caf::actor_system sys_;
  caf::scoped_actor self_;
  mutable std::mutex m_;
  std::unordered_map<std::string, caf::actor, string_hash, std::equal_to<>> actors_;
};

}  // namespace

system caf_system(std::string const& scheduler) {
  caf_scheduler = scheduler;
  return system_of<caf_backend>();
}
std::size_t caf_workers() {
  caf_backend probe;
  return probe.workers();
}
std::size_t caf_sizeof_actor() { return sizeof(caf_backend::counter_actor); }
std::string caf_version() {
  return std::to_string(CAF_MAJOR_VERSION) + "." + std::to_string(CAF_MINOR_VERSION) + "." +
         std::to_string(CAF_PATCH_VERSION);
}

}  // namespace bench
