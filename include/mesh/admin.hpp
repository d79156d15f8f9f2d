#pragma once
/// mesh::admin_server: a node's figures and a live cluster page over HTTP (cpp-httplib), apart
/// from <mesh/mesh.hpp> so that programs without it need no HTTP library.
///   mesh::admin_server admin{n, "127.0.0.1:9464"};   // GET /metrics, /cluster.json, /
/// Needs cpp-httplib (Debian 12: libcpp-httplib-dev, which ships its implementation as a shared
/// library): link the CMake target mesh::admin, or build with `pkg-config --cflags --libs cpp-httplib`.

#if !__has_include(<httplib.h>)
#error "mesh: <mesh/admin.hpp> needs cpp-httplib's <httplib.h>; install it (Debian 12: apt-get install libcpp-httplib-dev) and link mesh::admin"
#endif

#include <httplib.h>

#include <mesh/admin/dashboard.hpp>
#include <mesh/admin/exposition.hpp>
#include <mesh/node.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace mesh {

/// Serves one node's figures over HTTP on its own thread:
/// - `GET /metrics`: Prometheus text exposition 0.0.4 (admin::prometheus_text);
/// - `GET /cluster.json`: members and their capabilities, shard ownership per capability,
///   activations and calls by actor, recent errors (admin::cluster_json);
/// - `GET /`: the dashboard page (admin::dashboard_html), which polls /cluster.json.
/// Construct it after the node and destroy it before (it reads the node on every request); the
/// destructor stops the server and joins its thread. Not copyable or movable.
class admin_server {
 public:
  /// Binds `address` ("host:port"; port 0 picks a free one, see port()). Throws mesh::exception
  /// (errc::invalid_argument) when the address is malformed or cannot be bound.
  template <class Schema>
  admin_server(node<Schema>& n, std::string_view address)
      : metrics_([&n] { return n.metrics(); }), view_([&n] { return view_of(n); }) {
    auto const colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size())
      throw exception(fail(errc::invalid_argument, "admin address '" + std::string(address) + "' is not host:port"));
    host_ = std::string(address.substr(0, colon));
    if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') host_ = host_.substr(1, host_.size() - 2);
    int port = 0;
    for (char c : address.substr(colon + 1)) {
      if (c < '0' || c > '9' || port > 65535) port = -1;
      if (port < 0) break;
      port = port * 10 + (c - '0');
    }
    if (port < 0 || port > 65535)
      throw exception(fail(errc::invalid_argument, "admin address '" + std::string(address) + "' has no port in 0..65535"));
    routes();
    if (port == 0) {
      port = http_.bind_to_any_port(host_);
      if (port <= 0) port = -1;
    } else if (!http_.bind_to_port(host_, port)) {
      port = -1;
    }
    if (port < 0) throw exception(fail(errc::invalid_argument, "cannot bind the admin server to '" + std::string(address) + "'"));
    port_ = static_cast<std::uint16_t>(port);
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    // stop() before the loop has started would leave it running: wait until it runs.
    while (!http_.is_running() && thread_.joinable()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  admin_server(admin_server const&) = delete;
  admin_server& operator=(admin_server const&) = delete;

  /// Stops serving (open connections are closed) and joins the server thread.
  ~admin_server() {
    http_.stop();
    if (thread_.joinable()) thread_.join();
  }

  /// The bound port (the chosen one when the address said 0).
  std::uint16_t port() const noexcept { return port_; }
  /// "http://host:port/": the dashboard's address.
  std::string url() const {
    bool const v6 = host_.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_) + "/";
  }

  /// The cluster as node `n` sees it (what /cluster.json shows besides the metrics).
  template <class Schema>
  static admin::cluster_view view_of(node<Schema> const& n) {
    admin::cluster_view v;
    v.node = n.name();
    std::map<std::string, std::vector<std::string>> caps_of;
    for (auto const& m : n.cluster_members()) caps_of[m];
    auto const shards = n.config().shard_count;
    for (auto const& cap : n.all_capabilities()) {
      admin::cluster_view::capability c;
      c.name = cap;
      c.nodes = n.nodes_for(cap);
      c.shard_count = shards;
      for (auto const& host : c.nodes) caps_of[host].push_back(cap);
      // Placement: sorted(nodes)[shard % size], so this node owns the shards s with s % size == its index.
      auto const at = std::find(c.nodes.begin(), c.nodes.end(), n.name());
      if (at != c.nodes.end()) {
        auto const idx = static_cast<std::uint64_t>(at - c.nodes.begin());
        auto const size = static_cast<std::uint64_t>(c.nodes.size());
        c.owned_here = idx < shards ? (shards - idx - 1) / size + 1 : 0;
      }
      v.capabilities.push_back(std::move(c));
    }
    for (auto& [name, caps] : caps_of) v.members.push_back({name, std::move(caps)});
    return v;
  }

 private:
  void routes() {
    http_.Get("/metrics", [this](httplib::Request const&, httplib::Response& res) {
      res.set_content(admin::prometheus_text(metrics_()), "text/plain; version=0.0.4; charset=utf-8");
    });
    http_.Get("/cluster.json", [this](httplib::Request const&, httplib::Response& res) {
      res.set_content(admin::cluster_json(view_(), metrics_()), "application/json");
      res.set_header("Cache-Control", "no-store");
    });
    http_.Get("/", [](httplib::Request const&, httplib::Response& res) {
      res.set_content(std::string(admin::dashboard_html), "text/html; charset=utf-8");
    });
    // A handler that throws (out of memory) answers 500 instead of ending the server thread.
    http_.set_exception_handler([](httplib::Request const&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      res.set_content("mesh admin: internal error\n", "text/plain");
    });
  }

  std::function<node_metrics()> metrics_;
  std::function<admin::cluster_view()> view_;
  std::string host_;
  std::uint16_t port_ = 0;
  httplib::Server http_;
  std::thread thread_;
};

}  // namespace mesh
