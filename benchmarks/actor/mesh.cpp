// The actor scenario on mesh: one mesh::node, no sockets.
#include <mesh/mesh.hpp>

#include "workloads.hpp"

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace bench {
namespace {

using app = mesh::schema<Counter>;

/// The runtime under test: node_config{.name = "bench", .workers = 0 (hardware concurrency)}.
class mesh_backend {
 public:
  static constexpr std::string_view label = "mesh";
  using future_type = mesh::future<long>;

  mesh_backend() : node_(make_config()) { node_.register_capabilities<counters>(); }

  bool call(std::string_view id, long n) {
    auto r = node_.call<Counter>(id, Add{n});
    if (!r) note_error(r.error().message);
    return r.has_value();
  }
  future_type call_async(std::string_view id, long n) { return node_.call_async<Counter>(id, Add{n}); }
  bool get(future_type& f) {
    auto r = f.get();
    if (!r) note_error(r.error().message);
    return r.has_value();
  }
  long total(std::string_view id) {
    auto r = node_.call<Counter>(id, Get{});
    return r ? r->value : -1;
  }
  std::size_t activations() const { return node_.activation_count<Counter>(); }
  std::size_t workers() const { return node_.config().workers; }

 private:
  static mesh::node_config make_config() {
    mesh::node_config c;
    c.name = "bench";
    c.workers = 0;  // std::thread::hardware_concurrency()
    return c;
  }
  static void note_error(std::string const& what) {
    static std::once_flag once;
    std::call_once(once, [&] { std::fprintf(stderr, "[bench] first failed call: %s\n", what.c_str()); });
  }
  mesh::node<app> node_;
};

}  // namespace

system mesh_system() { return system_of<mesh_backend>(); }
std::size_t mesh_workers() {
  mesh_backend probe;
  return probe.workers();
}
std::size_t mesh_sizeof_activation() { return sizeof(mesh::detail::activation<Counter>); }

}  // namespace bench
