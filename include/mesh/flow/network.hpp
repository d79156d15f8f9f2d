#pragma once
/// mesh::flow::network: a dynamic network of processing nodes (DataMesh). Nodes are started,
/// linked, fed and inspected at run time by id; each runs a logic type (see logic.hpp).
/// The network is a facade over a detail::flow_backend: in-process by default (local_backend.hpp);
/// attached to a mesh::node (include <mesh/flow/cluster.hpp>) its nodes live on the members of
/// the cluster (cluster_backend.hpp), with the same API. See docs/flow.md.

#include <mesh/core/error.hpp>
#include <mesh/core/fwd.hpp>
#include <mesh/flow/backend.hpp>
#include <mesh/flow/dot.hpp>
#include <mesh/flow/local_backend.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/flow/node_id.hpp>
#include <mesh/flow/node_info.hpp>
#include <mesh/flow/type_key.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace mesh::flow {

template <class... Items>
struct graph;

namespace detail {

/// Builds the backend of a network attached to a node; specialized by <mesh/flow/cluster.hpp>.
template <class Node>
struct attach;

template <class L, class O>
constexpr bool check_options() {
  if constexpr (!is_valid_logic_v<L>) {
    return false;
  } else if constexpr (!std::is_constructible_v<options_t<L>, O>) {
    (void)sizeof(diagnostics::flow_options_do_not_match_logic<L, std::remove_cvref_t<O>>);
    return false;
  } else {
    return true;
  }
}
template <class L>
constexpr bool check_retrieve() {
  if constexpr (!is_valid_logic_v<L>) {
    return false;
  } else if constexpr (!has_retrieve<L>) {
    (void)sizeof(diagnostics::flow_logic_has_no_retrieve<L>);
    return false;
  } else {
    return true;
  }
}
template <class L, class K>
constexpr bool check_keyed_retrieve() {
  if constexpr (!is_valid_logic_v<L>) {
    return false;
  } else if constexpr (!has_keyed_retrieve<L>) {
    (void)sizeof(diagnostics::flow_logic_has_no_keyed_retrieve<L, K>);
    return false;
  } else if constexpr (!std::is_convertible_v<K const&, typename L::key>) {
    (void)sizeof(diagnostics::flow_logic_has_no_keyed_retrieve<L, K>);
    return false;
  } else {
    return true;
  }
}

}  // namespace detail

/// One node to start with network::start_nodes: its id and its options.
template <class Logic>
struct node_spec {
  using logic = Logic;
  node_id id;
  options_t<Logic> options{};
};
/// `mesh::flow::spec<Threshold>("filter", {10})`.
template <class Logic>
node_spec<Logic> spec(node_id id, options_t<Logic> options = {}) {
  return node_spec<Logic>{std::move(id), std::move(options)};
}

/// A network of processing nodes. Every member function is thread-safe. A rejected operation
/// (an error result) changes nothing. The destructor of a local network stops every node: items
/// still queued are discarded (call wait_idle() first to drain them). The nodes of a clustered
/// network live in the cluster and outlive this object (stop them with stop_node).
class network {
 public:
  /// An in-process network with its own worker threads.
  explicit network(network_config cfg = {}) : backend_(std::make_unique<detail::local_backend>(std::move(cfg))) {}

  /// A network whose nodes live on the members of `n`'s cluster (needs <mesh/flow/cluster.hpp>
  /// and mesh::flow::host<Logics...> in the node's schema; see docs/flow.md).
  template <class Node>
    requires requires { typename Node::schema_type; }
  explicit network(Node& n, network_config cfg = {}) : backend_(detail::attach<Node>::make(n, std::move(cfg))) {}

  network(network const&) = delete;
  network& operator=(network const&) = delete;
  network(network&&) noexcept = default;
  network& operator=(network&&) noexcept = default;
  ~network() = default;

  /// True when the nodes live on a cluster (constructed from a mesh::node).
  bool clustered() const noexcept { return backend_->clustered(); }

  // ---- nodes ----------------------------------------------------------------------------------

  /// Starts a node running Logic, constructed from value-initialized options (or by default
  /// when the logic has none). Errors: already_exists (id taken), invalid_argument (the logic's
  /// constructor threw; nothing started).
  template <class Logic>
  result<void> start_node(node_id const& id) {
    if constexpr (!is_valid_logic_v<Logic>) return fail(errc::invalid_argument, "invalid logic");
    else return start_one<Logic>(id, options_t<Logic>{});
  }
  /// Starts a node running Logic constructed from `options` (a Logic::options value).
  template <class Logic, class Options>
  result<void> start_node(node_id const& id, Options&& options) {
    if constexpr (!detail::check_options<Logic, Options&&>()) return fail(errc::invalid_argument, "invalid options");
    else return start_one<Logic>(id, options_t<Logic>(std::forward<Options>(options)));
  }

  /// Starts several nodes running Logic with the same options; all or none (already_exists
  /// when any id is taken or repeated).
  template <class Logic>
  result<void> start_nodes(std::vector<node_id> const& ids, options_t<Logic> const& options = {}) {
    if constexpr (!is_valid_logic_v<Logic>) {
      return fail(errc::invalid_argument, "invalid logic");
    } else {
      std::vector<detail::start_request> reqs;
      reqs.reserve(ids.size());
      for (auto const& id : ids) reqs.push_back(detail::start_request{&id, &detail::logic_ref_v<Logic>, &options});
      return start_all(reqs);
    }
  }
  /// Starts nodes of different logics, all or none: `start_nodes(spec<A>("a"), spec<B>("b", {3}))`.
  template <class... Logics>
    requires(sizeof...(Logics) > 0)
  result<void> start_nodes(node_spec<Logics> const&... specs) {
    if constexpr (!(is_valid_logic_v<Logics> && ...)) {
      return fail(errc::invalid_argument, "invalid logic");
    } else {
      std::vector<detail::start_request> reqs{
          detail::start_request{&specs.id, &detail::logic_ref_v<Logics>, &specs.options}...};
      return start_all(reqs);
    }
  }

  /// Stops a node: it finishes the item in progress, queued items are discarded, links to and
  /// from it are removed. Errors: not_found.
  result<void> stop_node(node_id const& id) { return backend_->stop(id); }

  // ---- links ----------------------------------------------------------------------------------

  /// Links `from` to `to`: from's broadcasts reach to. Errors: not_found (either id),
  /// type_mismatch (from's output is not exactly to's input, or from is a sink),
  /// already_exists (the link exists). Items emitted after connect returns use the link.
  result<void> connect(node_id const& from, node_id const& to) { return backend_->connect(from, to, nullptr); }

  /// Removes the link from `from` to `to`. Errors: not_found (either id, or no such link).
  result<void> disconnect(node_id const& from, node_id const& to) { return backend_->disconnect(from, to); }

  // ---- data -----------------------------------------------------------------------------------

  /// Sends `value` to node `id` (DataMesh's trigger_data). Its type must be the node's input
  /// exactly, after decay; a string literal counts as std::string. When the node's queue is
  /// full, waits up to network_config::send_timeout for room (from one of this network's own
  /// worker threads it does not wait). Errors: not_found, type_mismatch, overloaded (still
  /// full; nothing was queued).
  template <class T>
  result<void> send_data(node_id const& id, T&& value) {
    return send_impl<detail::data_t<T>>(id, std::forward<T>(value), true);
  }
  /// Like send_data, but fails with overloaded at once when the queue is full.
  template <class T>
  result<void> try_send_data(node_id const& id, T&& value) {
    return send_impl<detail::data_t<T>>(id, std::forward<T>(value), false);
  }

  /// What Logic's `retrieve() const` returns for node `id` (DataMesh's retrieve_data), read
  /// between two items. Errors: not_found, type_mismatch (the node runs another logic).
  template <class Logic>
  auto retrieve_data(node_id const& id) {
    if constexpr (!detail::check_retrieve<Logic>()) {
      return result<int>(fail(errc::invalid_argument, "invalid logic"));
    } else {
      return retrieve_impl<Logic, retrieve_t<Logic>>(id, &detail::retrieve_plain<Logic>, nullptr);
    }
  }
  /// What Logic's `retrieve(key) const` returns for node `id` (Logic declares `using key = K`).
  template <class Logic, class Key>
  auto retrieve_data(node_id const& id, Key const& key) {
    if constexpr (!detail::check_keyed_retrieve<Logic, Key>()) {
      return result<int>(fail(errc::invalid_argument, "invalid logic"));
    } else {
      typename Logic::key const k(key);
      return retrieve_impl<Logic, keyed_retrieve_t<Logic>>(id, &detail::retrieve_keyed<Logic>, &k);
    }
  }

  // ---- inspection -----------------------------------------------------------------------------

  /// A snapshot of node `id`: logic, options, links, counters. Errors: not_found.
  result<flow::node_info> node_info(node_id const& id) const { return backend_->info(id); }

  /// Ids of every node, sorted (for a clustered network: the nodes started through it).
  std::vector<node_id> nodes() const { return backend_->nodes(); }

  /// The network as Graphviz DOT: one box per node (id and logic), one arrow per link.
  std::string to_dot() const {
    std::string out = detail::dot_header();
    std::vector<flow::node_info> infos;
    for (auto const& id : nodes())
      if (auto i = node_info(id)) infos.push_back(std::move(*i));
    for (auto const& i : infos) {
      std::string label = i.id.to_string() + "\n" + i.logic;
      if (!i.options.empty()) label += " " + i.options;
      if (!i.location.empty()) label += "\n@" + i.location;
      out += "  " + detail::dot_quote(i.id.to_string()) + " [label=" + detail::dot_quote(label) + "];\n";
    }
    for (auto const& i : infos)
      for (auto const& to : i.links)
        out += "  " + detail::dot_quote(i.id.to_string()) + " -> " + detail::dot_quote(to.to_string()) + ";\n";
    out += "}\n";
    return out;
  }

  /// Waits until every queue is drained and no node is running (for tests and orderly
  /// shutdown); false when `timeout` passed first. Meaningful once senders have stopped.
  [[nodiscard]] bool wait_idle(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return backend_->wait_idle(timeout);
  }

 private:
  template <class... Items>
  friend struct graph;

  /// Links `from` to `to` for a graph edge whose output Out is convertible to the input In.
  template <class Out, class In>
  result<void> connect_converting(node_id const& from, node_id const& to) {
    if constexpr (std::is_same_v<Out, In>) return connect(from, to);
    else return backend_->connect(from, to, &detail::conversion_v<Out, In>);
  }

  template <class Logic>
  result<void> start_one(node_id const& id, options_t<Logic> const& o) {
    detail::start_request const r{&id, &detail::logic_ref_v<Logic>, &o};
    return backend_->start({&r, 1});
  }

  result<void> start_all(std::vector<detail::start_request> const& reqs) {
    for (std::size_t i = 0; i < reqs.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (*reqs[i].id == *reqs[j].id)
          return fail(errc::already_exists, "flow node " + reqs[i].id->to_string() + " is listed twice");
    return backend_->start(reqs);
  }

  template <class V, class T>
  result<void> send_impl(node_id const& id, T&& value, bool wait) {
    V v(std::forward<T>(value));
    detail::value_ref const r{detail::key_of<V>(), &detail::type_name_of<V>, &v, &detail::push_value<V>};
    return backend_->send(id, r, wait);
  }

  template <class Logic, class R>
  result<R> retrieve_impl(node_id const& id, detail::retrieve_function local, void const* key) {
    std::optional<R> out;
    if (auto ok = backend_->retrieve(id, detail::logic_ref_v<Logic>, local, &out, key); !ok)
      return result<R>(std::move(ok).error());
    return result<R>(std::move(*out));
  }

  std::unique_ptr<detail::flow_backend> backend_;
};

}  // namespace mesh::flow
