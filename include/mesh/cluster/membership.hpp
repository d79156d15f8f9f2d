#pragma once
/// The capability table: which member hosts which capabilities, and seed-compatible placement
/// (owner = sorted(nodes_for(cap))[shard % size]; members refused for a schema mismatch are never
/// placed). Readers take an immutable snapshot without locks
/// on the hot path; writers publish a new snapshot.

#include <mesh/cluster/placement.hpp>
#include <mesh/core/error.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::cluster {

/// Immutable view of the cluster's capabilities at one moment.
struct routing_snapshot {
  std::uint64_t version = 0;
  std::map<std::string, std::vector<std::string>, std::less<>> nodes_by_capability;  // sorted names
  std::map<std::string, std::set<std::string>, std::less<>> capabilities_by_node;
  std::set<std::string, std::less<>> incompatible;  ///< members refused for a schema mismatch (own no shard)

  std::vector<std::string> const* nodes_for(std::string_view cap) const {
    auto it = nodes_by_capability.find(cap);
    return it == nodes_by_capability.end() ? nullptr : &it->second;
  }
};

/// errc::no_nodes for a capability nobody registered.
[[gnu::cold, gnu::noinline]] inline error no_nodes_error(std::string_view cap) {
  return fail(errc::no_nodes, "no node registered capability '" + std::string(cap) + "'");
}

/// Capability table of one node's view of the cluster. Thread-safe.
class membership {
 public:
  membership() : uid_(next_uid()) { publish_locked(); }

  /// Sets (replaces) the capabilities of member `node`; returns true when anything changed.
  [[gnu::cold]] bool set_capabilities(std::string const& node, std::set<std::string> caps) {
    std::lock_guard lk(m_);
    auto& cur = caps_[node];
    if (cur == caps && present_.count(node)) return false;
    cur = std::move(caps);
    present_.insert(node);
    publish_locked();
    return true;
  }

  /// Adds capabilities to member `node`; returns true when anything changed.
  [[gnu::cold]] bool add_capabilities(std::string const& node, std::vector<std::string> const& caps) {
    std::lock_guard lk(m_);
    auto& cur = caps_[node];
    std::size_t before = cur.size();
    cur.insert(caps.begin(), caps.end());
    bool const changed = cur.size() != before || !present_.count(node);
    present_.insert(node);
    if (changed) publish_locked();
    return changed;
  }

  /// Removes capabilities from member `node`; returns true when anything changed.
  [[gnu::cold]] bool remove_capabilities(std::string const& node, std::vector<std::string> const& caps) {
    std::lock_guard lk(m_);
    auto it = caps_.find(node);
    if (it == caps_.end()) return false;
    std::size_t removed = 0;
    for (auto const& c : caps) removed += it->second.erase(c);
    if (removed) publish_locked();
    return removed != 0;
  }

  /// Removes member `node` (it left or died); returns true when it was known.
  [[gnu::cold]] bool remove(std::string const& node) {
    std::lock_guard lk(m_);
    bool const had = present_.erase(node) > 0;
    caps_.erase(node);
    incompatible_.erase(node);
    if (had) publish_locked();
    return had;
  }

  /// Marks a member as built from another schema: it stays in the table (capabilities_by_node,
  /// incompatible) but owns no shard (nodes_by_capability leaves it out).
  [[gnu::cold]] void set_incompatible(std::string const& node, bool v) {
    std::lock_guard lk(m_);
    bool const changed = v ? incompatible_.insert(node).second : incompatible_.erase(node) > 0;
    if (changed) publish_locked();
  }

  /// Sorted names of every member, this node included.
  [[gnu::cold]] std::vector<std::string> members() const {
    auto s = snapshot();
    std::vector<std::string> out;
    for (auto const& [n, caps] : s->capabilities_by_node) out.push_back(n);
    return out;
  }

  /// The capabilities of one member.
  [[gnu::cold]] std::set<std::string> capabilities_of(std::string const& node) const {
    std::lock_guard lk(m_);
    auto it = caps_.find(node);
    return it == caps_.end() ? std::set<std::string>{} : it->second;
  }

  /// Current snapshot; cheap (a thread-local cache refreshed only when the version changed).
  std::shared_ptr<routing_snapshot const> snapshot() const { return cached().snap; }

  /// Current snapshot without touching its reference count (the hot path of routing). The
  /// pointer stays valid until this thread next asks any membership for a snapshot.
  routing_snapshot const* current() const { return cached().snap.get(); }

  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

  /// Sorted names of the members that registered `cap`.
  std::vector<std::string> nodes_for(std::string_view cap) const {
    auto s = snapshot();
    auto const* v = s->nodes_for(cap);
    return v ? *v : std::vector<std::string>{};
  }

  /// Sorted, unique capabilities of all members.
  [[gnu::cold]] std::vector<std::string> all_capabilities() const {
    auto s = snapshot();
    std::vector<std::string> out;
    for (auto const& [cap, nodes] : s->nodes_by_capability)
      if (!nodes.empty()) out.push_back(cap);
    return out;
  }

  /// Owner of `shard` for `cap` by placement `p` (modulo: sorted(nodes_for(cap))[shard % size]);
  /// errc::no_nodes when none.
  static result<std::string> owner(routing_snapshot const& s, std::uint32_t shard, std::string_view cap,
                                   mesh::placement p = mesh::placement::modulo) {
    auto const* v = s.nodes_for(cap);
    if (!v || v->empty()) return no_nodes_error(cap);
    return (*v)[owner_index(p, shard, *v)];
  }

 private:
  struct cache_entry {
    std::uint64_t uid = 0, version = 0;
    std::shared_ptr<routing_snapshot const> snap;
  };
  cache_entry const& cached() const {
    thread_local cache_entry cache;
    std::uint64_t const v = version_.load(std::memory_order_acquire);
    if (cache.uid == uid_ && cache.version == v && cache.snap) return cache;
    std::shared_ptr<routing_snapshot const> s;
    {
      std::lock_guard lk(m_);
      s = snap_;
    }
    cache = {uid_, s->version, std::move(s)};
    return cache;
  }

  static std::uint64_t next_uid() {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }
  [[gnu::cold]] void publish_locked() {
    auto s = std::make_shared<routing_snapshot>();
    s->version = ++counter_;
    for (auto const& node : present_) {
      auto it = caps_.find(node);
      if (it == caps_.end()) continue;
      s->capabilities_by_node[node] = it->second;
      // A node built from another schema is listed but never placed: it could serve nothing.
      if (incompatible_.count(node)) continue;
      for (auto const& c : it->second) s->nodes_by_capability[c].push_back(node);
    }
    for (auto& [c, v] : s->nodes_by_capability) std::sort(v.begin(), v.end());
    s->incompatible.insert(incompatible_.begin(), incompatible_.end());
    snap_ = std::move(s);
    version_.store(counter_, std::memory_order_release);
  }

  mutable std::mutex m_;
  std::map<std::string, std::set<std::string>> caps_;
  std::set<std::string> present_;
  std::set<std::string> incompatible_;
  std::shared_ptr<routing_snapshot const> snap_;
  std::uint64_t counter_ = 0;
  std::atomic<std::uint64_t> version_{0};
  std::uint64_t uid_;
};

}  // namespace mesh::cluster
