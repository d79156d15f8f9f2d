#pragma once
/// What members tell each other (wire::kind::control frames): heartbeats carrying gossip about the
/// members a node knows, refusals of a heartbeat, and graceful leaves. See docs/wire.md, "Control".

#include <mesh/wire/reflect.hpp>

#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mesh::cluster {

/// Control message types (wire::header::control). Numbers are on the wire.
enum class control : std::uint16_t {
  heartbeat = 1,  ///< body: gossip. Sent DEALER->ROUTER every heartbeat_interval; also the join.
  refuse = 2,     ///< body: refusal. ROUTER->DEALER answer to a heartbeat that is not accepted.
  leave = 3,      ///< body: member_info. Graceful departure.
  handoff = 4,    ///< body: handoff. Activations (with their `state`) moved to the recipient.
};

/// A member as gossiped.
struct member_info {
  BOOST_HANA_DEFINE_STRUCT(member_info,
                           (std::string, name),
                           (std::string, endpoint),
                           (std::uint64_t, incarnation),
                           (std::uint64_t, fingerprint),
                           (std::vector<std::string>, capabilities),
                           (std::uint8_t, placement));  // mesh::placement: members must agree
};
/// A heartbeat. `sent_at` is the sender's monotonic clock (ns) when it sent it; `echo` is the
/// latest `sent_at` the sender received from the recipient (0: none yet). The echo is how the
/// recipient knows the sender heard from it recently, by its own clock (cluster/quorum.hpp).
struct gossip {
  BOOST_HANA_DEFINE_STRUCT(gossip, (member_info, self), (std::vector<member_info>, known), (std::uint64_t, sent_at),
                           (std::uint64_t, echo));
};
struct refusal {
  BOOST_HANA_DEFINE_STRUCT(refusal, (member_info, self), (std::uint16_t, code), (std::string, reason));
};

/// One activation handed off: its id and its encoded `state`.
struct handoff_entry {
  BOOST_HANA_DEFINE_STRUCT(handoff_entry, (std::string, id), (std::string, state));
};
/// Activations of one actor type whose shard moved from the sender to the recipient (see
/// docs/state.md, "Handoff"). `from`, `incarnation` and `fingerprint` must match the member the
/// frame arrives from; `leaving`: the sender is leaving gracefully, so it computed the owners as if
/// it were gone already (its leave follows on the same connection).
struct handoff {
  BOOST_HANA_DEFINE_STRUCT(handoff, (std::string, from), (std::uint64_t, incarnation), (std::uint64_t, fingerprint),
                           (bool, leaving), (std::string, actor), (std::vector<handoff_entry>, entries));
};

/// A fresh incarnation number for this process's membership (getrandom(2); <random> would cost
/// every translation unit its parse time for one number).
inline std::uint64_t random_incarnation() noexcept {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) v = 0;
  return v ^ (std::uint64_t(::getpid()) << 40) ^ std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace mesh::cluster
