#pragma once
/// cluster::peer_table: the nodes this node talks to, by endpoint, with their membership state
/// (name, incarnation, last heard from) and their DEALER; lookups by name and by the routing id
/// their DEALER has at our ROUTER; tombstones of the dead. I/O lock only.

#include <mesh/core/clock.hpp>
#include <mesh/transport/endpoint.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace mesh::cluster {

struct peer {
  std::string endpoint;
  std::string name;  // empty until it heartbeats us (a seed we only know by endpoint)
  std::uint64_t incarnation = 0;
  std::unique_ptr<transport::dealer> dealer;
  std::string routing_id;  // its DEALER's identity as seen by our ROUTER
  detail::clock::time_point last_seen{};
  detail::clock::time_point contact{};  // send time of our latest heartbeat it echoed (quorum.hpp)
  std::uint64_t echo = 0;               // the latest sent_at of its heartbeats, echoed back to it
  bool member = false;  // heard from directly and accepted
  bool incompatible = false;
};

class peer_table {
 public:
  /// Every peer, by endpoint.
  std::map<std::string, peer>& all() noexcept { return peers_; }

  /// The member whose DEALER has this ROUTER identity, if any. Cached: frames come in runs from
  /// one peer, and the answers go back to it.
  peer* by_routing_id(std::string_view rid) {
    if (rid_cache_.gen == gen_ && rid_cache_.rid == rid) return rid_cache_.p;
    peer* p = nullptr;
    if (auto it = by_routing_id_.find(std::string(rid)); it != by_routing_id_.end()) p = member(it->second);
    rid_cache_.rid = rid;
    rid_cache_.gen = gen_;
    rid_cache_.p = p;
    return p;
  }

  /// The member called `name`, if any. Cached like by_routing_id: requests come in runs to one
  /// owner.
  peer* member(std::string const& name) {
    if (name_cache_.gen == gen_ && name_cache_.name == name) return name_cache_.p;
    peer* found = nullptr;
    if (auto it = by_name_.find(name); it != by_name_.end())
      if (auto p = peers_.find(it->second); p != peers_.end() && p->second.member) found = &p->second;
    name_cache_.name = name;
    name_cache_.gen = gen_;
    name_cache_.p = found;
    return found;
  }

  bool knows(std::string const& endpoint) const { return peers_.count(endpoint) != 0; }

  /// The peer at `endpoint`, made (without a DEALER) when new.
  peer& at(std::string const& endpoint) {
    ++gen_;
    auto& p = peers_[endpoint];
    p.endpoint = endpoint;
    return p;
  }

  /// `p` is a member now, known by `name` and `rid`.
  void admit(peer& p, std::string const& name, std::string const& rid) {
    ++gen_;
    p.name = name;
    p.routing_id = rid;
    p.member = true;
    p.incompatible = false;
    by_name_[name] = p.endpoint;
    by_routing_id_[rid] = name;
    tombstones_.erase(name);
  }

  /// Forgets `p` (its DEALER closes), leaving a tombstone so gossip does not bring it back.
  void remove(peer& p) {
    ++gen_;
    if (tombstones_.size() >= max_tombstones) tombstones_.clear();  // made-up names cannot grow it for ever
    tombstones_[p.name] = {p.incarnation, detail::clock::now()};
    if (p.member) {
      by_name_.erase(p.name);
      by_routing_id_.erase(p.routing_id);
    }
    peers_.erase(p.endpoint);
  }

  /// True when `name` was dropped with this incarnation less than `ttl` ago: gossip about it is
  /// then stale (its sender has not noticed yet). Past that, whoever still gossips it heard from
  /// it after we dropped it (a partition that healed): it is contacted again.
  bool buried(std::string const& name, std::uint64_t incarnation, detail::clock::time_point now, detail::clock::duration ttl) const {
    auto t = tombstones_.find(name);
    return t != tombstones_.end() && t->second.incarnation == incarnation && now - t->second.at < ttl;
  }

  void clear() {
    ++gen_;
    peers_.clear();
    by_name_.clear();
    by_routing_id_.clear();
  }

 private:
  std::map<std::string, peer> peers_;                 // by endpoint (stable addresses)
  std::map<std::string, std::string> by_name_;        // name -> endpoint
  std::map<std::string, std::string> by_routing_id_;  // ROUTER identity -> name
  static constexpr std::size_t max_tombstones = 4096;
  struct tombstone {
    std::uint64_t incarnation;
    detail::clock::time_point at;
  };
  std::map<std::string, tombstone> tombstones_;       // dropped name -> incarnation, when
  std::uint64_t gen_ = 0;  // bumped by every change: the caches below hold until it moves
  struct {
    std::string rid;
    std::uint64_t gen = ~std::uint64_t{0};
    peer* p = nullptr;
  } rid_cache_;
  struct {
    std::string name;
    std::uint64_t gen = ~std::uint64_t{0};
    peer* p = nullptr;
  } name_cache_;
};

}  // namespace mesh::cluster
