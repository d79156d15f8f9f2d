#pragma once
/// detail::cluster_backend: the flow_backend of a network attached to a mesh::node. Every
/// operation is one or a few actor calls to the host activations of the nodes involved; types
/// are checked by the logics' stable names and the structural signatures of their data types
/// (type_signature.hpp), never by compiler-spelled names. Every use of the mesh::node goes
/// through host_call(), the one place that knows how flow reaches the node.

#include <mesh/core/error.hpp>
#include <mesh/core/list.hpp>
#include <mesh/flow/backend.hpp>
#include <mesh/flow/host.hpp>
#include <mesh/flow/host_messages.hpp>
#include <mesh/flow/host_rules.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/flow/network.hpp>
#include <mesh/flow/type_signature.hpp>
#include <mesh/node.hpp>
#include <mesh/wire/codec.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace mesh::flow::detail {

/// wait_idle polls the hosts' counters at this interval: each poll is one call per node, so
/// polling faster would load the cluster it is waiting for.
inline constexpr auto cluster_idle_poll = std::chrono::milliseconds(5);

/// A call to the host activation of flow node `id` on `n`'s cluster.
template <class H, class S, class M>
auto host_call(mesh::node<S>& n, node_id const& id, M msg) {
  return n.template call<H>(id.to_string(), std::move(msg));
}

template <class T> struct is_host : std::false_type {};
template <class... Ls> struct is_host<host<Ls...>> : std::true_type {};

template <class... As>
struct host_in;
template <>
struct host_in<> {
  using type = void;
};
template <class A, class... As>
struct host_in<A, As...> {
  using type = std::conditional_t<is_host<A>::value, A, typename host_in<As...>::type>;
};

/// The operations of a network attached to a node whose schema lists H = host<Logics...>.
template <class S, class H>
class cluster_backend;

template <class S, class... Logics>
class cluster_backend<S, host<Logics...>> final : public flow_backend {
  using H = host<Logics...>;

 public:
  cluster_backend(mesh::node<S>& n, network_config cfg) : node_(n), cfg_(std::move(cfg)) {}

  bool clustered() const noexcept override { return true; }

  result<void> start(std::span<start_request const> nodes) override {
    std::vector<node_id> started;
    for (auto const& r : nodes) {
      auto ok = start_one(*r.id, *r.logic, r.options);
      if (!ok) {
        for (auto const& id : started) (void)stop(id);
        return ok;
      }
      started.push_back(*r.id);
    }
    return {};
  }

  result<void> stop(node_id const& id) override {
    auto counters = call(id, fm_idle{});
    auto reply = call(id, fm_stop{});
    if (!reply) return std::move(reply).error();
    if (auto ok = to_result(reply->value.status); !ok) return ok;
    if (counters) {  // keep wait_idle's sums balanced without this node
      retired_received_.fetch_add(counters->value.received, std::memory_order_relaxed);
      retired_emitted_.fetch_add(counters->value.emitted, std::memory_order_relaxed);
    }
    for (auto const& from : reply->value.in) (void)call(from, fm_unlink{id});
    for (auto const& to : reply->value.out) (void)call(to, fm_linked{id, false});
    std::lock_guard lk(m_);
    known_.erase(id);
    return {};
  }

  result<void> connect(node_id const& from, node_id const& to, conversion const* conv) override {
    auto a = info(from);
    if (!a) return std::move(a).error();
    auto b = info(to);
    if (!b) return std::move(b).error();
    // The target's input type, by its logic's stable name (the sender compares it with its output).
    auto const input = input_signature_of(b->logic);
    if (!input) return not_listed(b->logic);
    auto linked = call(from, fm_link{to, *input, b->input_type, conv != nullptr});
    if (!linked) return std::move(linked).error();
    if (auto ok = to_result(linked->value); !ok) return ok;
    auto back = call(to, fm_linked{from, true});
    if (!back) return std::move(back).error();
    return to_result(back->value);
  }

  result<void> disconnect(node_id const& from, node_id const& to) override {
    auto b = info(to);
    if (!b) return std::move(b).error();
    auto r = call(from, fm_unlink{to});
    if (!r) return std::move(r).error();
    if (auto ok = to_result(r->value); !ok) return ok;
    (void)call(to, fm_linked{from, false});
    return {};
  }

  /// The host checks the type (signature_v); `wait` does not apply: a call waits for its reply.
  result<void> send(node_id const& id, value_ref const& v, bool) override {
    std::optional<fm_data> data;
    auto one = [&]<class L>(L*) {
      if (key_of<input_t<L>>() != v.type) return false;
      data = fm_data{signature_v<input_t<L>>, wire::encode(*static_cast<input_t<L> const*>(v.value))};
      return true;
    };
    (one(static_cast<Logics*>(nullptr)) || ...);
    if (!data) {  // no hosted logic takes this type: not_found or type_mismatch, as locally
      auto i = info(id);
      if (!i) return std::move(i).error();
      return fail(errc::type_mismatch, "flow node " + id.to_string() + " takes " + i->input_type + ", not " +
                                           v.type_name());
    }
    auto r = call(id, std::move(*data));
    if (!r) return std::move(r).error();
    auto ok = to_result(r->value);
    // The host counted the message as received; it is in wait_idle's sum when the node is one of
    // ours (it exists: accepted, or refused for its type).
    if (ok || ok.error().code == errc::type_mismatch) sent_.fetch_add(1, std::memory_order_relaxed);
    if (!ok && ok.error().code == errc::type_mismatch)
      return fail(errc::type_mismatch, ok.error().message + ", not " + v.type_name());
    return ok;
  }

  result<void> retrieve(node_id const& id, logic_ref const& logic, retrieve_function, void* out,
                        void const* key) override {
    std::optional<result<void>> r;
    auto one = [&]<class L>(L*) {
      if (key_of<L>() != logic.key) return false;
      fm_retrieve q{std::string(L::name), key != nullptr, {}};
      if constexpr (has_keyed_retrieve<L>)
        if (key) q.key = wire::encode(*static_cast<typename L::key const*>(key));
      auto reply = call(id, std::move(q));
      if (!reply) {
        r = std::move(reply).error();
        return true;
      }
      if (auto ok = to_result(reply->value.status); !ok) {
        r = std::move(ok);
        return true;
      }
      if (!key) {
        if constexpr (has_retrieve<L>) r = decode_into<retrieve_t<L>>(reply->value.bytes, out);
      } else {
        if constexpr (has_keyed_retrieve<L>) r = decode_into<keyed_retrieve_t<L>>(reply->value.bytes, out);
      }
      if (!r) r = fail(errc::invalid_argument, "logic has no such retrieve");
      return true;
    };
    (one(static_cast<Logics*>(nullptr)) || ...);
    if (!r) return not_listed(logic.name);
    return std::move(*r);
  }

  result<node_info> info(node_id const& id) override {
    auto r = call(id, fm_info{});
    if (!r) return std::move(r).error();
    if (auto ok = to_result(r->value.status); !ok) return std::move(ok).error();
    return std::move(r->value.info);
  }

  std::vector<node_id> nodes() override {
    std::lock_guard lk(m_);
    return std::vector<node_id>(known_.begin(), known_.end());
  }

  bool wait_idle(std::chrono::milliseconds timeout) override {
    // Idle when every data message sent (by send_data and by the nodes' casts) was received,
    // and that count is the same in two polls in a row.
    auto const until = std::chrono::steady_clock::now() + timeout;
    bool have_previous = false;
    std::uint64_t previous = 0;
    while (true) {
      std::uint64_t received = retired_received_.load(std::memory_order_relaxed);
      std::uint64_t emitted = retired_emitted_.load(std::memory_order_relaxed);
      bool ok = true;
      for (auto const& id : nodes()) {
        auto r = call(id, fm_idle{});
        if (!r) {
          ok = false;
          break;
        }
        received += r->value.received;
        emitted += r->value.emitted;
      }
      std::uint64_t const sent = sent_.load(std::memory_order_relaxed);
      if (ok && received == sent + emitted) {
        if (have_previous && previous == received) return true;
        have_previous = true;
        previous = received;
      } else {
        have_previous = false;
      }
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(cluster_idle_poll);
    }
  }

 private:
  result<void> start_one(node_id const& id, logic_ref const& logic, void const* options) {
    std::optional<result<void>> r;
    auto one = [&]<class L>(L*) {
      if (key_of<L>() != logic.key) return false;
      auto const& o = *static_cast<options_t<L> const*>(options);
      auto reply = call(id, fm_start{id, std::string(L::name), wire::encode(o)});
      if (!reply) r = std::move(reply).error();
      else r = to_result(reply->value);
      return true;
    };
    (one(static_cast<Logics*>(nullptr)) || ...);
    if (!r) return not_listed(logic.name);
    if (*r) {
      std::lock_guard lk(m_);
      known_.insert(id);
    }
    return std::move(*r);
  }

  /// signature_v of the input of the listed logic called `name`.
  static std::optional<std::uint64_t> input_signature_of(std::string_view name) {
    std::optional<std::uint64_t> sig;
    auto one = [&]<class L>(L*) {
      if (std::string_view(L::name) != name) return false;
      sig = signature_v<input_t<L>>;
      return true;
    };
    (one(static_cast<Logics*>(nullptr)) || ...);
    return sig;
  }

  static mesh::error not_listed(std::string_view logic) {
    return fail(errc::not_found, "logic " + std::string(logic) + " is not listed in the schema's mesh::flow::host<...>");
  }

  template <class M>
  auto call(node_id const& id, M msg) {
    return host_call<H>(node_, id, std::move(msg));
  }
  template <class R>
  static result<void> decode_into(std::string const& bytes, void* out) {
    auto v = wire::decode<R>(bytes);
    if (!v) return std::move(v).error();
    static_cast<std::optional<R>*>(out)->emplace(std::move(*v));
    return {};
  }

  mesh::node<S>& node_;
  network_config cfg_;
  std::mutex m_;
  std::set<node_id> known_;
  std::atomic<std::uint64_t> sent_{0}, retired_received_{0}, retired_emitted_{0};
};

template <class S>
struct attach<mesh::node<S>> {
  static std::unique_ptr<flow_backend> make(mesh::node<S>& n, network_config cfg) {
    using H = typename decltype([]<class... As>(mesh::list<As...>*) {
      return std::type_identity<typename host_in<As...>::type>{};
    }(static_cast<typename S::actors*>(nullptr)))::type;
    if constexpr (std::is_void_v<H>) {
      (void)sizeof(diagnostics::flow_network_needs_a_host_in_the_schema<mesh::node<S>>);
      return nullptr;
    } else {
      return std::make_unique<cluster_backend<S, H>>(n, std::move(cfg));
    }
  }
};

}  // namespace mesh::flow::detail
