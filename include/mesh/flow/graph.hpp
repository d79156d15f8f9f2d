#pragma once
/// mesh::flow::graph<node<"a", A>..., edge<"a", "b">...>: a typed DAG of processing nodes that
/// the compiler checks (unique names, edges between declared nodes, output convertible to input
/// along every edge, no cycles), with its topological order, its DOT picture, and start() that
/// runs it in a network in one call, after which data is sent by node name, type-checked.

#include <mesh/core/fixed_string.hpp>
#include <mesh/core/list.hpp>
#include <mesh/flow/network.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mesh::flow {

/// A node of a compile-time graph: its name (also its id in the network) and its logic.
template <fixed_string Name, class Logic>
struct node {
  static constexpr auto name = Name;
  using logic = Logic;
};

/// A link of a compile-time graph, from the node named From to the node named To.
template <fixed_string From, fixed_string To>
struct edge {
  static constexpr auto from = From;
  static constexpr auto to = To;
};

/// Options for one node of a graph at start(): `with<"filter">(Threshold::options{10})`.
template <fixed_string Name, class Options>
struct with_options {
  static constexpr auto name = Name;
  Options value;
};
template <fixed_string Name, class Options>
with_options<Name, std::decay_t<Options>> with(Options&& o) {
  return {std::forward<Options>(o)};
}

namespace detail {
template <class T> struct is_graph_node : std::false_type {};
template <fixed_string N, class L> struct is_graph_node<node<N, L>> : std::true_type {};
template <class T> struct is_graph_edge : std::false_type {};
template <fixed_string F, fixed_string T> struct is_graph_edge<edge<F, T>> : std::true_type {};
template <class T> struct is_with : std::false_type {};
template <fixed_string N, class O> struct is_with<with_options<N, O>> : std::true_type {};

template <class Acc, class... Ts> struct split_items;
template <class... Ns, class... Es>
struct split_items<list<list<Ns...>, list<Es...>>> {
  using nodes = list<Ns...>;
  using edges = list<Es...>;
};
template <class... Ns, class... Es, class T, class... Rest>
struct split_items<list<list<Ns...>, list<Es...>>, T, Rest...>
    : std::conditional_t<is_graph_node<T>::value, split_items<list<list<Ns..., T>, list<Es...>>, Rest...>,
                         split_items<list<list<Ns...>, list<Es..., T>>, Rest...>> {};

template <class... Ns>
constexpr std::size_t index_of_name(std::string_view n) {
  constexpr std::array<std::string_view, sizeof...(Ns)> names{Ns::name.view()...};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == n) return i;
  return sizeof...(Ns);
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
namespace diagnostics {
template <class Item>
struct flow_graph_item_must_be_a_node_or_an_edge {
  static_assert(always_false<Item>, "mesh: mesh::flow::graph takes mesh::flow::node<\"name\", Logic> and "
                                    "mesh::flow::edge<\"from\", \"to\"> items only");
};
template <fixed_string Name>
struct flow_graph_node_name_not_unique {
  static_assert(Name.size() == 0 && Name.size() != 0,
                "mesh: two nodes of the graph share this name; give each mesh::flow::node a unique name");
};
template <fixed_string From, fixed_string To, fixed_string Missing>
struct flow_graph_edge_names_an_undeclared_node {
  static_assert(Missing.size() == 0 && Missing.size() != 0,
                "mesh: a graph edge names a node the graph does not declare; add mesh::flow::node<\"name\", Logic> "
                "or fix the edge");
};
template <fixed_string From, fixed_string To>
struct flow_graph_edge_repeated {
  static_assert(From.size() == 0 && From.size() != 0, "mesh: the graph lists the same edge twice; remove one");
};
template <fixed_string From, fixed_string To>
struct flow_graph_edge_from_a_sink {
  static_assert(From.size() == 0 && From.size() != 0,
                "mesh: a graph edge starts at a sink (a logic without `output`); it has nothing to send");
};
template <fixed_string From, fixed_string To, class Output, class Input>
struct flow_graph_edge_types_incompatible {
  static_assert(always_false<Output>, "mesh: a graph edge links an output to an input it is not convertible to; "
                                      "make the source's `output` convertible to the target's `input`");
};
template <fixed_string Name>
struct flow_graph_has_a_cycle {
  static_assert(Name.size() == 0 && Name.size() != 0,
                "mesh: the graph has a cycle through this node; a mesh::flow::graph must be acyclic (use a "
                "dynamic network for cycles)");
};
template <fixed_string Name>
struct flow_graph_has_no_node_named {
  static_assert(Name.size() == 0 && Name.size() != 0, "mesh: the graph has no node with this name");
};
template <fixed_string Name, class Given, class Input>
struct flow_graph_send_type_mismatch {
  static_assert(always_false<Given>, "mesh: the value sent to this graph node is not convertible to its logic's "
                                     "`input`; send a value of the input type");
};
template <class Arg>
struct flow_graph_start_takes_with_options {
  static_assert(always_false<Arg>, "mesh: graph::start takes options as mesh::flow::with<\"node\">(options) "
                                   "arguments");
};
}  // namespace diagnostics

namespace detail {

template <class Nodes, class Edges>
struct graph_checks;

template <class... Ns, class... Es>
struct graph_checks<list<Ns...>, list<Es...>> {
  static constexpr std::size_t n = sizeof...(Ns);
  static constexpr std::size_t m = sizeof...(Es);
  static constexpr std::array<std::string_view, n> names{Ns::name.view()...};
  static constexpr std::array<std::size_t, m> from{index_of_name<Ns...>(Es::from.view())...};
  static constexpr std::array<std::size_t, m> to{index_of_name<Ns...>(Es::to.view())...};

  template <fixed_string Name>
  using logic_of = typename mesh::detail::list_at_t<index_of_name<Ns...>(Name.view()), list<Ns...>>::logic;

  static constexpr std::size_t name_clash() {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (names[i] == names[j]) return i;
    return n;
  }
  static constexpr std::size_t repeated_edge() {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (from[i] == from[j] && to[i] == to[j]) return i;
    return m;
  }

  /// Kahn's algorithm: the order, and how many nodes it reached (n when acyclic).
  struct kahn_result {
    std::array<std::size_t, n> order{};
    std::size_t count = 0;
  };
  static constexpr kahn_result kahn() {
    kahn_result r;
    std::array<std::size_t, n> indeg{};
    for (std::size_t e = 0; e < m; ++e) ++indeg[to[e]];
    std::array<bool, n> done{};
    // Repeatedly take the first ready node in declaration order: a stable, readable order.
    for (std::size_t round = 0; round < n; ++round) {
      std::size_t pick = n;
      for (std::size_t i = 0; i < n && pick == n; ++i)
        if (!done[i] && indeg[i] == 0) pick = i;
      if (pick == n) break;
      done[pick] = true;
      r.order[r.count++] = pick;
      for (std::size_t e = 0; e < m; ++e)
        if (from[e] == pick) --indeg[to[e]];
    }
    return r;
  }
  /// A node on a cycle (n when there is none): walk back from a node Kahn could not reach.
  static constexpr std::size_t node_on_cycle() {
    auto const k = kahn();
    if (k.count == n) return n;
    std::array<bool, n> reached{};
    for (std::size_t i = 0; i < k.count; ++i) reached[k.order[i]] = true;
    std::size_t v = n;
    for (std::size_t i = 0; i < n && v == n; ++i)
      if (!reached[i]) v = i;
    for (std::size_t step = 0; step < n; ++step)
      for (std::size_t e = 0; e < m; ++e)
        if (to[e] == v && !reached[from[e]]) {
          v = from[e];
          break;
        }
    return v;
  }

  template <class E>
  static constexpr bool check_edge_ends() {
    constexpr std::size_t f = index_of_name<Ns...>(E::from.view());
    constexpr std::size_t t = index_of_name<Ns...>(E::to.view());
    if constexpr (f == n) {
      (void)sizeof(diagnostics::flow_graph_edge_names_an_undeclared_node<E::from, E::to, E::from>);
      return false;
    } else if constexpr (t == n) {
      (void)sizeof(diagnostics::flow_graph_edge_names_an_undeclared_node<E::from, E::to, E::to>);
      return false;
    } else {
      return true;
    }
  }
  template <class E>
  static constexpr bool check_edge_types() {
    using out = output_t<logic_of<E::from>>;
    using in = input_t<logic_of<E::to>>;
    if constexpr (std::is_void_v<out>) {
      (void)sizeof(diagnostics::flow_graph_edge_from_a_sink<E::from, E::to>);
      return false;
    } else if constexpr (!std::is_convertible_v<out const&, in>) {
      (void)sizeof(diagnostics::flow_graph_edge_types_incompatible<E::from, E::to, out, in>);
      return false;
    } else {
      return true;
    }
  }
  template <class E> struct edge_ends_ok : std::bool_constant<check_edge_ends<E>()> {};
  template <class E> struct edge_types_ok : std::bool_constant<check_edge_types<E>()> {};
  template <class N> struct logic_ok : std::bool_constant<is_valid_logic_v<typename N::logic>> {};

  static constexpr bool check() {
    // Each step runs only when the previous ones passed (std::conjunction short-circuits
    // instantiation): one error per broken graph.
    if constexpr (!std::conjunction_v<logic_ok<Ns>...>) {
      return false;
    } else if constexpr (constexpr std::size_t c = name_clash(); c < n) {
      (void)sizeof(diagnostics::flow_graph_node_name_not_unique<mesh::detail::list_at_t<c, list<Ns...>>::name>);
      return false;
    } else if constexpr (!std::conjunction_v<edge_ends_ok<Es>...>) {
      return false;
    } else if constexpr (constexpr std::size_t r = repeated_edge(); r < m) {
      using E = mesh::detail::list_at_t<r, list<Es...>>;
      (void)sizeof(diagnostics::flow_graph_edge_repeated<E::from, E::to>);
      return false;
    } else if constexpr (!std::conjunction_v<edge_types_ok<Es>...>) {
      return false;
    } else if constexpr (constexpr std::size_t v = node_on_cycle(); v < n) {
      (void)sizeof(diagnostics::flow_graph_has_a_cycle<mesh::detail::list_at_t<v, list<Ns...>>::name>);
      return false;
    } else {
      return true;
    }
  }
};

template <class... Items>
constexpr bool check_items() {
  if constexpr ((... && (is_graph_node<Items>::value || is_graph_edge<Items>::value))) {
    return true;
  } else {
    constexpr std::size_t bad = [] {
      constexpr bool ok[] = {(is_graph_node<Items>::value || is_graph_edge<Items>::value)..., true};
      std::size_t i = 0;
      while (ok[i]) ++i;
      return i;
    }();
    (void)sizeof(diagnostics::flow_graph_item_must_be_a_node_or_an_edge<mesh::detail::list_at_t<bad, list<Items...>>>);
    return false;
  }
}

}  // namespace detail

template <class Graph>
class running;

/// A compile-time graph of processing nodes. Everything but start() is a compile-time constant.
template <class... Items>
struct graph {
 private:
  static constexpr bool items_ok = detail::check_items<Items...>();
  using split = std::conditional_t<items_ok, detail::split_items<list<list<>, list<>>, Items...>,
                                   detail::split_items<list<list<>, list<>>>>;
  using checks = detail::graph_checks<typename split::nodes, typename split::edges>;

 public:
  /// True when every rule holds (else one `mesh:` error was emitted).
  static constexpr bool valid = items_ok && checks::check();

  using nodes = typename split::nodes;
  using edges = typename split::edges;
  static constexpr std::size_t node_count = checks::n;
  static constexpr std::size_t edge_count = checks::m;

  /// Whether the graph declares a node named Name.
  template <fixed_string Name>
  static constexpr bool has_node = []<class... Ns>(list<Ns...>*) {
    return detail::index_of_name<Ns...>(Name.view()) < sizeof...(Ns);
  }(static_cast<nodes*>(nullptr));

  /// The logic type of the node named Name.
  template <fixed_string Name>
  using logic_of = typename checks::template logic_of<Name>;

  /// Node names in declaration order.
  static constexpr std::array<std::string_view, node_count> names() { return checks::names; }

  /// Node names in a topological order (every edge goes from an earlier to a later name; ties
  /// in declaration order).
  static constexpr std::array<std::string_view, node_count> topological_order() {
    std::array<std::string_view, node_count> out{};
    if constexpr (valid) {
      auto const k = checks::kahn();
      for (std::size_t i = 0; i < node_count; ++i) out[i] = checks::names[k.order[i]];
    }
    return out;
  }

  /// The graph as Graphviz DOT: one box per node (name and logic), one arrow per edge.
  static std::string to_dot() {
    std::string out = detail::dot_header();
    if constexpr (valid) {
      [&]<class... Ns>(list<Ns...>*) {
        ((out += "  " + detail::dot_quote(Ns::name.view()) + " [label=" +
                 detail::dot_quote(std::string(Ns::name.view()) + "\n" + std::string(logic_name<typename Ns::logic>())) +
                 "];\n"),
         ...);
      }(static_cast<nodes*>(nullptr));
      [&]<class... Es>(list<Es...>*) {
        ((out += "  " + detail::dot_quote(Es::from.view()) + " -> " + detail::dot_quote(Es::to.view()) + ";\n"), ...);
      }(static_cast<edges*>(nullptr));
    }
    out += "}\n";
    return out;
  }

  /// Starts every node (ids: the node names) and links every edge in `net`, all or nothing.
  /// Options: `with<"name">(options)` arguments; nodes without one get value-initialized
  /// options. Errors: those of start_node and connect (e.g. already_exists for a used name).
  template <class... Withs>
  static result<running<graph>> start(network& net, Withs&&... opts) {
    return start_impl(net, std::nullopt, std::forward<Withs>(opts)...);
  }
  /// Like start(), with ids `(instance, "name")`, so the same graph can run several times.
  template <class... Withs>
  static result<running<graph>> start_as(network& net, node_id instance, Withs&&... opts) {
    return start_impl(net, std::optional<node_id>(std::move(instance)), std::forward<Withs>(opts)...);
  }

  /// The network id of node Name (for an instance started with start_as: `(instance, "Name")`).
  static node_id id_of(std::string_view name, std::optional<node_id> const& instance) {
    if (!instance) return node_id(name);
    return node_id::tuple({*instance, node_id(name)});
  }

 private:
  template <class W>
  static constexpr bool check_with() {
    if constexpr (!detail::is_with<std::remove_cvref_t<W>>::value) {
      (void)sizeof(diagnostics::flow_graph_start_takes_with_options<std::remove_cvref_t<W>>);
      return false;
    } else {
      using WW = std::remove_cvref_t<W>;
      if constexpr (!has_node<WW::name>) {
        (void)sizeof(diagnostics::flow_graph_has_no_node_named<WW::name>);
        return false;
      } else {
        return detail::check_options<logic_of<WW::name>, decltype(std::declval<WW>().value)>();
      }
    }
  }

  template <class Logic, fixed_string Name, class... Withs>
  static options_t<Logic> options_for(Withs const&... ws) {
    options_t<Logic> o{};
    auto pick = [&](auto const& w) {
      using W = std::remove_cvref_t<decltype(w)>;
      if constexpr (W::name == Name) o = options_t<Logic>(w.value);
    };
    (pick(ws), ...);
    (void)pick;
    return o;
  }

  template <class... Withs>
  static result<running<graph>> start_impl(network& net, std::optional<node_id> instance, Withs&&... opts) {
    if constexpr (!valid || !(check_with<Withs>() && ...)) {
      return fail(errc::invalid_argument, "invalid graph");
    } else {
      auto started = [&]<class... Ns>(list<Ns...>*) {
        return net.start_nodes(node_spec<typename Ns::logic>{
            id_of(Ns::name.view(), instance), options_for<typename Ns::logic, Ns::name>(opts...)}...);
      }(static_cast<nodes*>(nullptr));
      if (!started) return std::move(started).error();
      result<void> linked;
      [&]<class... Es>(list<Es...>*) {
        auto one = [&]<class E>(E*) {
          if (!linked) return;
          using out = output_t<logic_of<E::from>>;
          using in = input_t<logic_of<E::to>>;
          linked = net.template connect_converting<out, in>(id_of(E::from.view(), instance), id_of(E::to.view(), instance));
        };
        (one(static_cast<Es*>(nullptr)), ...);
      }(static_cast<edges*>(nullptr));
      if (!linked) {
        for (auto const& nm : checks::names) (void)net.stop_node(id_of(nm, instance));
        return std::move(linked).error();
      }
      return running<graph>(net, std::move(instance));
    }
  }
};

/// A graph started in a network: send, retrieve and inspect by node name, checked at compile
/// time. Refers to the network, which must outlive it. Copyable; thread-safe like the network.
template <class Graph>
class running {
 public:
  running(network& net, std::optional<node_id> instance) : net_(&net), instance_(std::move(instance)) {}

  /// The network id of node Name.
  template <fixed_string Name>
  node_id id() const {
    if constexpr (!check_name<Name>()) return {};
    else return Graph::id_of(Name.view(), instance_);
  }

  /// Sends `value` to node Name; it must convert to that node's input (compile-time check).
  /// Errors: those of network::send_data (not_found when the node was stopped, overloaded).
  template <fixed_string Name, class T>
  result<void> send(T&& value) {
    if constexpr (!check_name<Name>()) {
      return fail(errc::invalid_argument, "no such node");
    } else {
      using in = input_t<typename Graph::template logic_of<Name>>;
      if constexpr (!std::is_convertible_v<T&&, in>) {
        (void)sizeof(diagnostics::flow_graph_send_type_mismatch<Name, std::remove_cvref_t<T>, in>);
        return fail(errc::type_mismatch, "wrong type");
      } else {
        return net_->send_data(id<Name>(), in(std::forward<T>(value)));
      }
    }
  }

  /// What node Name's `retrieve()` returns.
  template <fixed_string Name>
  auto retrieve() {
    if constexpr (!check_name<Name>()) return result<int>(fail(errc::invalid_argument, "no such node"));
    else return net_->template retrieve_data<typename Graph::template logic_of<Name>>(id<Name>());
  }
  /// What node Name's `retrieve(key)` returns.
  template <fixed_string Name, class Key>
  auto retrieve(Key const& key) {
    if constexpr (!check_name<Name>()) return result<int>(fail(errc::invalid_argument, "no such node"));
    else return net_->template retrieve_data<typename Graph::template logic_of<Name>>(id<Name>(), key);
  }

  /// node_info of node Name.
  template <fixed_string Name>
  result<node_info> info() const {
    if constexpr (!check_name<Name>()) return fail(errc::invalid_argument, "no such node");
    else return net_->node_info(id<Name>());
  }

  /// Stops every node of the graph (those already stopped are skipped).
  void stop() {
    for (auto const& nm : Graph::names()) (void)net_->stop_node(Graph::id_of(nm, instance_));
  }

  network& net() const noexcept { return *net_; }

 private:
  template <fixed_string Name>
  static constexpr bool check_name() {
    if constexpr (!Graph::template has_node<Name>) {
      (void)sizeof(diagnostics::flow_graph_has_no_node_named<Name>);
      return false;
    } else {
      return true;
    }
  }

  network* net_;
  std::optional<node_id> instance_;
};

}  // namespace mesh::flow
