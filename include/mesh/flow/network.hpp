#pragma once
/// mesh::flow::network: a dynamic network of processing nodes (DataMesh). Nodes are started,
/// linked, fed and inspected at run time by id; each runs a logic type (see logic.hpp).
/// In-process by default; attached to a mesh::node (include <mesh/flow/cluster.hpp>) its nodes
/// live on the members of the cluster, with the same API. See docs/flow.md.

#include <mesh/core/error.hpp>
#include <mesh/core/fwd.hpp>
#include <mesh/flow/dot.hpp>
#include <mesh/flow/logic.hpp>
#include <mesh/flow/node_id.hpp>
#include <mesh/flow/node_info.hpp>
#include <mesh/flow/runtime.hpp>

#include <algorithm>
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

/// A value as send_data sees it: decayed, and a string literal or `char` pointer is std::string.
template <class T>
struct data_of {
  using type = std::decay_t<T>;
};
template <class T>
  requires std::is_same_v<std::decay_t<T>, char const*> || std::is_same_v<std::decay_t<T>, char*>
struct data_of<T> {
  using type = std::string;
};
template <class T>
using data_t = typename data_of<T>::type;

/// The operations of a network attached to a mesh::node, type-erased: typed arguments travel
/// as a type key plus a pointer; the backend knows every logic of the cluster's flow schema.
class remote_backend {
 public:
  virtual ~remote_backend() = default;
  virtual result<void> start(node_id const& id, type_key logic, std::string_view logic_name, void const* options) = 0;
  virtual result<void> stop(node_id const& id) = 0;
  virtual result<void> connect(node_id const& from, node_id const& to, bool convertible) = 0;
  virtual result<void> disconnect(node_id const& from, node_id const& to) = 0;
  virtual result<void> send(node_id const& id, type_key type, std::string_view type_name, void const* value) = 0;
  /// `out` is a std::optional<R>* for R the logic's retrieve type; `key` null or a `L::key const*`.
  virtual result<void> retrieve(node_id const& id, type_key logic, std::string_view logic_name, void* out,
                                void const* key) = 0;
  virtual result<node_info> info(node_id const& id) = 0;
  virtual std::vector<node_id> nodes() = 0;
  virtual bool wait_idle(std::chrono::milliseconds timeout) = 0;
};

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
  explicit network(network_config cfg = {}) : local_(std::make_unique<detail::local_engine>(std::move(cfg))) {}

  /// A network whose nodes live on the members of `n`'s cluster (needs <mesh/flow/cluster.hpp>
  /// and mesh::flow::host<Logics...> in the node's schema; see docs/flow.md).
  template <class Node>
    requires requires { typename Node::schema_type; }
  explicit network(Node& n, network_config cfg = {}) : remote_(detail::attach<Node>::make(n, std::move(cfg))) {}

  network(network const&) = delete;
  network& operator=(network const&) = delete;
  network(network&&) noexcept = default;
  network& operator=(network&&) noexcept = default;
  ~network() = default;

  /// True when the nodes live on a cluster (constructed from a mesh::node).
  bool clustered() const noexcept { return remote_ != nullptr; }

  // ---- nodes ----------------------------------------------------------------------------------

  /// Starts a node running Logic, constructed from value-initialized options (or by default
  /// when the logic has none). Errors: already_exists (id taken), invalid_argument (the logic's
  /// constructor threw; nothing started).
  template <class Logic>
  result<void> start_node(node_id const& id) {
    if constexpr (!is_valid_logic_v<Logic>) return fail(errc::invalid_argument, "invalid logic");
    else return start_with<Logic>(id, options_t<Logic>{});
  }
  /// Starts a node running Logic constructed from `options` (a Logic::options value).
  template <class Logic, class Options>
  result<void> start_node(node_id const& id, Options&& options) {
    if constexpr (!detail::check_options<Logic, Options&&>()) return fail(errc::invalid_argument, "invalid options");
    else return start_with<Logic>(id, options_t<Logic>(std::forward<Options>(options)));
  }

  /// Starts several nodes running Logic with the same options; all or none (already_exists
  /// when any id is taken or repeated).
  template <class Logic>
  result<void> start_nodes(std::vector<node_id> const& ids, options_t<Logic> const& options = {}) {
    if constexpr (!is_valid_logic_v<Logic>) {
      return fail(errc::invalid_argument, "invalid logic");
    } else {
      std::vector<node_spec<Logic>> specs;
      specs.reserve(ids.size());
      for (auto const& id : ids) specs.push_back(node_spec<Logic>{id, options});
      return start_all(specs);
    }
  }
  /// Starts nodes of different logics, all or none: `start_nodes(spec<A>("a"), spec<B>("b", {3}))`.
  template <class... Logics>
    requires(sizeof...(Logics) > 0)
  result<void> start_nodes(node_spec<Logics> const&... specs) {
    if constexpr (!(is_valid_logic_v<Logics> && ...)) {
      return fail(errc::invalid_argument, "invalid logic");
    } else {
      std::vector<node_id> ids{specs.id...};
      if (auto ok = check_new_ids(ids); !ok) return ok;
      if (remote_) return start_remote_all(specs...);
      std::lock_guard topo(local_->topology());
      if (auto ok = check_free_locked(ids); !ok) return ok;
      std::vector<detail::ref<detail::node_base>> made;
      made.reserve(sizeof...(Logics));
      result<void> status;
      ((status ? void(status = make_local<Logics>(specs.id, specs.options, made)) : void()), ...);
      if (!status) return status;
      for (auto& n : made) local_->insert(n);
      return {};
    }
  }

  /// Stops a node: it finishes the item in progress, queued items are discarded, links to and
  /// from it are removed. Errors: not_found.
  result<void> stop_node(node_id const& id) {
    if (remote_) return remote_->stop(id);
    std::lock_guard topo(local_->topology());
    auto n = local_->find(id);
    if (!n) return not_found(id);
    for (auto const& to : n->out_ids)
      if (auto t = local_->find(to)) std::erase(t->in_ids, id);
    for (auto const& from : n->in_ids)
      if (auto s = local_->find(from)) {
        s->remove_link(n.get());
        std::erase(s->out_ids, id);
      }
    n->out_ids.clear();
    n->in_ids.clear();
    local_->erase(id);
    n->stop();
    return {};
  }

  // ---- links ----------------------------------------------------------------------------------

  /// Links `from` to `to`: from's broadcasts reach to. Errors: not_found (either id),
  /// type_mismatch (from's output is not exactly to's input, or from is a sink),
  /// already_exists (the link exists). Items emitted after connect returns use the link.
  result<void> connect(node_id const& from, node_id const& to) {
    if (remote_) return remote_->connect(from, to, false);
    std::lock_guard topo(local_->topology());
    auto a = local_->find(from);
    if (!a) return not_found(from);
    auto b = local_->find(to);
    if (!b) return not_found(to);
    if (a->output_type() == detail::key_of<void>())
      return fail(errc::type_mismatch, "cannot connect " + from.to_string() + " to " + to.to_string() + ": " +
                                           from.to_string() + " is a sink (its logic has no output)");
    if (a->output_type() != b->input_type())
      return fail(errc::type_mismatch, "cannot connect " + from.to_string() + " to " + to.to_string() + ": " +
                                           from.to_string() + " emits " + a->output_name() + " but " +
                                           to.to_string() + " takes " + b->input_name());
    if (std::find(a->out_ids.begin(), a->out_ids.end(), to) != a->out_ids.end())
      return fail(errc::already_exists, "link " + from.to_string() + " -> " + to.to_string() + " exists");
    void* s = b->input_sink();
    a->add_link(b, s, {});
    a->out_ids.push_back(to);
    b->in_ids.push_back(from);
    return {};
  }

  /// Removes the link from `from` to `to`. Errors: not_found (either id, or no such link).
  result<void> disconnect(node_id const& from, node_id const& to) {
    if (remote_) return remote_->disconnect(from, to);
    std::lock_guard topo(local_->topology());
    auto a = local_->find(from);
    if (!a) return not_found(from);
    auto b = local_->find(to);
    if (!b) return not_found(to);
    auto it = std::find(a->out_ids.begin(), a->out_ids.end(), to);
    if (it == a->out_ids.end())
      return fail(errc::not_found, "no link " + from.to_string() + " -> " + to.to_string());
    a->remove_link(b.get());
    a->out_ids.erase(it);
    std::erase(b->in_ids, from);
    return {};
  }

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
      using R = retrieve_t<Logic>;
      if (remote_) {
        std::optional<R> out;
        if (auto ok = remote_->retrieve(id, detail::key_of<Logic>(), logic_name<Logic>(), &out, nullptr); !ok)
          return result<R>(std::move(ok).error());
        return result<R>(std::move(*out));
      }
      return with_local_logic<Logic, R>(id, [](Logic const& l) -> R { return l.retrieve(); });
    }
  }
  /// What Logic's `retrieve(key) const` returns for node `id` (Logic declares `using key = K`).
  template <class Logic, class Key>
  auto retrieve_data(node_id const& id, Key const& key) {
    if constexpr (!detail::check_keyed_retrieve<Logic, Key>()) {
      return result<int>(fail(errc::invalid_argument, "invalid logic"));
    } else {
      using R = keyed_retrieve_t<Logic>;
      typename Logic::key const k(key);
      if (remote_) {
        std::optional<R> out;
        if (auto ok = remote_->retrieve(id, detail::key_of<Logic>(), logic_name<Logic>(), &out, &k); !ok)
          return result<R>(std::move(ok).error());
        return result<R>(std::move(*out));
      }
      return with_local_logic<Logic, R>(id, [&](Logic const& l) -> R { return l.retrieve(k); });
    }
  }

  // ---- inspection -----------------------------------------------------------------------------

  /// A snapshot of node `id`: logic, options, links, counters. Errors: not_found.
  result<flow::node_info> node_info(node_id const& id) const {
    if (remote_) return remote_->info(id);
    auto n = local_->find(id);
    if (!n) return not_found(id);
    std::lock_guard topo(local_->topology());
    return n->info();
  }

  /// Ids of every node, sorted (for a clustered network: the nodes started through it).
  std::vector<node_id> nodes() const {
    if (remote_) return remote_->nodes();
    std::vector<node_id> ids;
    for (auto const& n : local_->all_nodes()) ids.push_back(n->id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

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
    if (remote_) return remote_->wait_idle(timeout);
    return local_->wait_idle(timeout);
  }

 private:
  template <class... Items>
  friend struct graph;

  /// Links `from` to `to` for a graph edge whose output Out is convertible to the input In.
  template <class Out, class In>
  result<void> connect_converting(node_id const& from, node_id const& to) {
    if constexpr (std::is_same_v<Out, In>) {
      return connect(from, to);
    } else {
      if (remote_) return remote_->connect(from, to, true);
      std::lock_guard topo(local_->topology());
      auto a = local_->find(from);
      if (!a) return not_found(from);
      auto b = local_->find(to);
      if (!b) return not_found(to);
      if (a->output_type() != detail::key_of<Out>() || b->input_type() != detail::key_of<In>())
        return fail(errc::type_mismatch, "cannot connect " + from.to_string() + " to " + to.to_string() +
                                             ": not the graph's types");
      if (std::find(a->out_ids.begin(), a->out_ids.end(), to) != a->out_ids.end())
        return fail(errc::already_exists, "link " + from.to_string() + " -> " + to.to_string() + " exists");
      auto conv = std::make_shared<detail::converting_sink<Out, In>>(static_cast<detail::inbox<In>*>(b.get()));
      void* s = static_cast<detail::sink<Out>*>(conv.get());
      a->add_link(b, s, conv);
      a->out_ids.push_back(to);
      b->in_ids.push_back(from);
      return {};
    }
  }

  static mesh::error not_found(node_id const& id) { return fail(errc::not_found, "no flow node " + id.to_string()); }

  static result<void> check_new_ids(std::vector<node_id> const& ids) {
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (ids[i] == ids[j]) return fail(errc::already_exists, "flow node " + ids[i].to_string() + " is listed twice");
    return {};
  }
  result<void> check_free_locked(std::vector<node_id> const& ids) const {
    for (auto const& id : ids)
      if (local_->find(id)) return fail(errc::already_exists, "flow node " + id.to_string() + " already exists");
    return {};
  }

  template <class Logic>
  result<void> make_local(node_id const& id, options_t<Logic> const& o, std::vector<detail::ref<detail::node_base>>& made) {
    try {
      auto* n = new detail::local_node<Logic>(*local_, id, &o);
      made.push_back(detail::ref<detail::node_base>::from(*n));
      return {};
    } catch (std::exception const& e) {
      return fail(errc::invalid_argument, "constructor of logic " + std::string(logic_name<Logic>()) + " for node " +
                                              id.to_string() + " threw: " + e.what());
    }
  }

  template <class Logic>
  result<void> start_with(node_id const& id, options_t<Logic> const& o) {
    if (remote_) return remote_->start(id, detail::key_of<Logic>(), logic_name<Logic>(), &o);
    std::lock_guard topo(local_->topology());
    if (local_->find(id)) return fail(errc::already_exists, "flow node " + id.to_string() + " already exists");
    std::vector<detail::ref<detail::node_base>> made;
    if (auto ok = make_local<Logic>(id, o, made); !ok) return ok;
    local_->insert(made.front());
    return {};
  }

  template <class Logic>
  result<void> start_all(std::vector<node_spec<Logic>> const& specs) {
    std::vector<node_id> ids;
    for (auto const& s : specs) ids.push_back(s.id);
    if (auto ok = check_new_ids(ids); !ok) return ok;
    if (remote_) {
      for (auto const& s : specs)
        if (auto ok = remote_->start(s.id, detail::key_of<Logic>(), logic_name<Logic>(), &s.options); !ok) {
          rollback_remote(ids, s.id);
          return ok;
        }
      return {};
    }
    std::lock_guard topo(local_->topology());
    if (auto ok = check_free_locked(ids); !ok) return ok;
    std::vector<detail::ref<detail::node_base>> made;
    for (auto const& s : specs)
      if (auto ok = make_local<Logic>(s.id, s.options, made); !ok) return ok;
    for (auto& n : made) local_->insert(n);
    return {};
  }

  template <class... Logics>
  result<void> start_remote_all(node_spec<Logics> const&... specs) {
    std::vector<node_id> started;
    result<void> status;
    auto one = [&](auto const& s, auto key, std::string_view name) {
      if (!status) return;
      status = remote_->start(s.id, key, name, &s.options);
      if (status) started.push_back(s.id);
    };
    (one(specs, detail::key_of<Logics>(), logic_name<Logics>()), ...);
    if (!status)
      for (auto const& id : started) (void)remote_->stop(id);
    return status;
  }
  void rollback_remote(std::vector<node_id> const& ids, node_id const& failed) {
    for (auto const& id : ids) {
      if (id == failed) break;
      (void)remote_->stop(id);
    }
  }

  template <class V, class T>
  result<void> send_impl(node_id const& id, T&& value, bool wait) {
    if (remote_) {
      V v(std::forward<T>(value));
      return remote_->send(id, detail::key_of<V>(), detail::type_name_of<V>(), &v);
    }
    auto n = local_->find(id);
    if (!n) return not_found(id);
    if (n->input_type() != detail::key_of<V>())
      return fail(errc::type_mismatch, "flow node " + id.to_string() + " takes " + n->input_name() + ", not " +
                                           detail::type_name_of<V>());
    V v(std::forward<T>(value));
    auto* in = static_cast<detail::inbox<V>*>(n.get());
    auto const st = wait && !local_->sched().on_worker()
                        ? in->push_wait(v, detail::clock::now() + local_->config().send_timeout)
                        : in->try_push(v);
    switch (st) {
      case detail::push_status::ok: return {};
      case detail::push_status::closed: return not_found(id);
      case detail::push_status::full: break;
    }
    return fail(errc::overloaded, "input queue of flow node " + id.to_string() + " is full (" +
                                      std::to_string(in->queue_capacity()) + " items)");
  }

  template <class Logic, class R, class F>
  result<R> with_local_logic(node_id const& id, F&& f) {
    auto n = local_->find(id);
    if (!n) return not_found(id);
    if (n->logic_type() != detail::key_of<Logic>())
      return fail(errc::type_mismatch, "flow node " + id.to_string() + " runs logic " + n->logic_name() + ", not " +
                                           std::string(logic_name<Logic>()));
    try {
      return static_cast<detail::local_node<Logic>*>(n.get())->with_logic(std::forward<F>(f));
    } catch (std::exception const& e) {
      return fail(errc::invalid_argument, "retrieve() of flow node " + id.to_string() + " threw: " + e.what());
    }
  }

  std::unique_ptr<detail::local_engine> local_;
  std::unique_ptr<detail::remote_backend> remote_;
};

}  // namespace mesh::flow
