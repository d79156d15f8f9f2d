#pragma once
/// cluster::pending_calls: the requests this node sent and awaits answers for, by request id.
/// I/O lock only.

#include <mesh/core/clock.hpp>
#include <mesh/wire/error_frame.hpp>
#include <mesh/wire/frame_callback.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mesh::cluster {

class pending_calls {
  using clock = detail::clock;

 public:
  /// Map nodes kept for reuse: a call in flight costs no allocation once the pipeline is warm.
  static constexpr std::size_t spare_nodes = 1024;
  /// How often the deadlines are scanned: a call fails with timeout at most this late.
  static constexpr auto expiry_scan = std::chrono::milliseconds(10);

  struct call {
    std::string node;
    clock::time_point deadline;
    detail::frame_callback cb;
  };

  bool empty() const noexcept { return calls_.empty(); }

  /// A fresh request id for a call to record with add().
  std::uint64_t next_id() noexcept { return ++last_id_; }

  /// Records call `id`, in a recycled map node when one is spare.
  void add(std::uint64_t id, call&& c) {
    if (spare_.empty()) {
      calls_.emplace(id, std::move(c));
      return;
    }
    auto nh = std::move(spare_.back());
    spare_.pop_back();
    nh.key() = id;
    nh.mapped() = std::move(c);
    calls_.insert(std::move(nh));
  }

  /// The completion of call `id`, removed; empty when unknown (a late answer after a timeout).
  detail::frame_callback take(std::uint64_t id) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return {};
    auto cb = std::move(it->second.cb);
    auto nh = calls_.extract(it);
    if (spare_.size() < spare_nodes) {
      nh.mapped().cb = nullptr;
      spare_.push_back(std::move(nh));
    }
    return cb;
  }

  /// Fails every call whose deadline passed (checked every expiry_scan): `finish(cb, frame)`.
  template <class Finish>
  void expire(clock::time_point now, Finish&& finish) {
    if (calls_.empty() || now < next_scan_) return;
    next_scan_ = now + expiry_scan;
    fail_where([&](call const& c) { return c.deadline < now; }, errc::timeout, "no reply before the deadline", finish);
  }

  /// Fails every call to `node` with (code, why).
  template <class Finish>
  void fail_node(std::string const& node, errc code, std::string const& why, Finish&& finish) {
    fail_where([&](call const& c) { return c.node == node; }, code, why, finish);
  }

  /// Fails every call with (code, why).
  template <class Finish>
  void fail_all(errc code, std::string const& why, Finish&& finish) {
    fail_where([](call const&) { return true; }, code, why, finish);
  }

 private:
  template <class Pred, class Finish>
  void fail_where(Pred&& pred, errc code, std::string const& why, Finish& finish) {
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (pred(it->second)) {
        auto cb = std::move(it->second.cb);
        auto id = it->first;
        it = calls_.erase(it);
        finish(std::move(cb), wire::error_frame(id, code, why));
      } else {
        ++it;
      }
    }
  }

  using map = std::unordered_map<std::uint64_t, call>;
  map calls_;
  std::vector<map::node_type> spare_;
  std::uint64_t last_id_ = 0;
  clock::time_point next_scan_{};
};

}  // namespace mesh::cluster
