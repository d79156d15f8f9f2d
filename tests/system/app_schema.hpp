#pragma once
// The application schema of the system and in-process cluster tests, shared by the test programs
// and by mesh_test_node (the member process the system tests start).
//
//   counter (capability "game"):  Add, Get, Reset, Whoami, Fail, Sleep; init argument Start
//   room    (capability "chat"):  Post, History
//   relay   (capability "relay"): View (the hosting node's view of the cluster), Route (a nested
//                                 call to a counter, routed by the hosting node)
//
// app::alt_schema differs only by one extra field in the counter's Add message: same actor names,
// another fingerprint. A node built from it must be refused by the others.
#include <mesh/mesh.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace app {

struct game : mesh::capability<"game"> {};
struct chat : mesh::capability<"chat"> {};
struct relay : mesh::capability<"relay"> {};

struct Start {
  BOOST_HANA_DEFINE_STRUCT(Start, (long, initial));
};
struct Add {
  BOOST_HANA_DEFINE_STRUCT(Add, (long, amount));
};
struct AddWithNote {  // the alternative schema's Add: one more field
  BOOST_HANA_DEFINE_STRUCT(AddWithNote, (long, amount), (std::string, note));
};
struct Get {};
struct Reset {};
struct Whoami {};
struct Fail {
  BOOST_HANA_DEFINE_STRUCT(Fail, (std::string, what));
};
struct Sleep {
  BOOST_HANA_DEFINE_STRUCT(Sleep, (int, ms));
};

/// Called by every counter's Add handler when set (mesh_test_node --journal): the id, the amount,
/// and a process-unique number of the activation instance that ran it.
inline std::function<void(std::string_view id, long amount, std::uint64_t instance)>& add_journal() {
  static std::function<void(std::string_view, long, std::uint64_t)> f;
  return f;
}
inline std::uint64_t next_instance() {
  static std::atomic<std::uint64_t> n{0};
  return ++n;
}

/// A counter whose replies also tell which node ran it (Whoami).
template <class AddT>
struct basic_counter {
  static constexpr mesh::fixed_string name = "counter";
  using capability = game;
  using messages = mesh::list<AddT, Get, Reset, Whoami, Fail, Sleep>;
  using init_arg = Start;

  basic_counter(std::string_view id, Start const& s) : value(s.initial), self(id) {}
  long handle(AddT const& a) {
    if (add_journal()) add_journal()(self, a.amount, instance);
    return value += a.amount;
  }
  long handle(Get const&) { return value; }
  void handle(Reset const&) { value = 0; }
  std::string handle(Whoami const&, mesh::context& ctx) { return std::string(ctx.node_name()); }
  long handle(Fail const& f) { throw std::runtime_error(f.what); }
  int handle(Sleep const& s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(s.ms));
    return s.ms;
  }

  long value;
  std::string self;
  std::uint64_t instance = next_instance();
};
using Counter = basic_counter<Add>;
using CounterWithNote = basic_counter<AddWithNote>;

struct Post {
  BOOST_HANA_DEFINE_STRUCT(Post, (std::string, user), (std::string, text));
};
struct History {};

struct ChatRoom {
  static constexpr mesh::fixed_string name = "room";
  using capability = chat;
  using messages = mesh::list<Post, History>;

  explicit ChatRoom(std::string_view) {}
  std::uint64_t handle(Post const& p) {
    lines.push_back(p.user + ": " + p.text);
    return lines.size();
  }
  std::vector<std::string> handle(History const&) { return lines; }

  std::vector<std::string> lines;
};

/// What the node hosting a relay activation sees.
struct View {};
struct ViewReply {
  BOOST_HANA_DEFINE_STRUCT(ViewReply,
                           (std::string, node),
                           (std::vector<std::string>, members),
                           (std::vector<std::string>, capabilities),
                           (std::map<std::string, std::vector<std::string>>, nodes_by_capability),
                           (std::uint64_t, bad_frames));
};

/// Asks the hosting node to call counter `counter_id` (its own routing decides where).
struct Route {
  BOOST_HANA_DEFINE_STRUCT(Route, (std::string, counter_id));
};
struct RouteReply {
  BOOST_HANA_DEFINE_STRUCT(RouteReply,
                           (std::string, via),             // node that ran the relay
                           (std::string, expected_owner),  // its owner_node for the counter ("" if none)
                           (std::string, replied_by),      // reply.ref.node of the nested call
                           (std::uint16_t, error_code),    // mesh::errc of the nested call (0: ok)
                           (std::string, error_text));
};

/// Set by the program hosting a node before it registers "relay" (one node per process).
struct host_hooks {
  std::function<ViewReply()> view;
  std::function<std::string(std::string_view cap, std::string_view id)> owner;
};
inline host_hooks& hooks() {
  static host_hooks h;
  return h;
}

template <class CounterT>
struct basic_relay {
  static constexpr mesh::fixed_string name = "relay";
  using capability = relay;
  using messages = mesh::list<View, Route>;

  explicit basic_relay(std::string_view) {}
  ViewReply handle(View const&) { return hooks().view ? hooks().view() : ViewReply{}; }
  RouteReply handle(Route const& r, mesh::context& ctx) {
    RouteReply out;
    out.via = std::string(ctx.node_name());
    if (hooks().owner) out.expected_owner = hooks().owner(CounterT::capability::name, r.counter_id);
    auto rep = ctx.call<CounterT>(r.counter_id, Whoami{}, std::chrono::milliseconds(3000));
    if (rep) {
      out.replied_by = rep->ref.node;
      out.error_code = 0;
    } else {
      out.error_code = static_cast<std::uint16_t>(rep.error().code);
      out.error_text = rep.error().message;
    }
    return out;
  }
};
using Relay = basic_relay<Counter>;

using schema = mesh::schema<Counter, ChatRoom, Relay>;
using alt_schema = mesh::schema<CounterWithNote, ChatRoom, basic_relay<CounterWithNote>>;
static_assert(mesh::wire::fingerprint_v<schema> != mesh::wire::fingerprint_v<alt_schema>);

/// Installs hooks() for node `n` (call before registering "relay").
template <class Node>
void install_hooks(Node& n) {
  hooks().view = [&n] {
    ViewReply v;
    v.node = n.name();
    v.members = n.cluster_members();
    v.capabilities = n.all_capabilities();
    for (auto const& c : v.capabilities) v.nodes_by_capability[c] = n.nodes_for(c);
    v.bad_frames = n.transport_stats().bad_frames;
    return v;
  };
  hooks().owner = [&n](std::string_view cap, std::string_view id) {
    auto o = n.owner_node(n.shard_for(id), cap);
    return o ? *o : std::string{};
  };
}

}  // namespace app
